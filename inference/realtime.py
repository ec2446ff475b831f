"""Real-time QC: images an import has just committed are scored by the active model versions
of the studies on their dataset, without anyone asking (settings.IMAGING_AFTER_INGEST)."""

from __future__ import annotations

import logging

from django.db import transaction

from . import scoring
from .models import InferenceJob, InferenceTrigger, ModelVersion

logger = logging.getLogger(__name__)


def images_ingested(dataset_id: int, image_ids: list[int]) -> list[InferenceJob]:
    """One inference job (trigger "import") per active version whose study is on the dataset,
    for exactly these images; each queued once its row is committed."""
    if not image_ids:
        return []
    versions = ModelVersion.objects.filter(is_active=True, study__dataset_id=dataset_id)
    jobs = []
    with transaction.atomic():
        for version in versions.select_related("study"):
            jobs.append(
                scoring.create_job(
                    version,
                    dataset=version.study.dataset,
                    image_ids=list(image_ids),
                    trigger=InferenceTrigger.IMPORT,
                )
            )
    if jobs:
        logger.info(
            "dataset %s: %d new image(s) queued for scoring by version(s) %s",
            dataset_id, len(image_ids), [job.model_version_id for job in jobs],
        )  # fmt: skip
    return jobs
