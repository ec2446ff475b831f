"""Active-learning queries: rank a study's unrated images with a model version, store the
ranking, and send it to the raters (their worklists put the images first, without a reason).

The pool is every image of the study with no rating on the version's dimension. Queries run
synchronously for now (seconds for a few thousand images at the networks' input sizes, see
bench/query.py); `run_query` is the one function a job on the `inference` queue would call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.db import transaction
from django.utils import timezone

from imaging.services import representative_files
from ratings.services.labels import LabelledImage, LabelsError, study_labels
from ratings.services.priorities import prioritise

from ..fast import fast_convnet4_trunk
from ..models import ActiveLearningQuery, Architecture, ModelVersion, QueryStrategy, Target
from ..nets import embed
from ..predict import MC_PASSES, Predictor
from ..preprocess import load
from ..training.engine import outputs
from . import strategies

BATCH = 32
MAX_K = 1000
# Penultimate features wider than this are projected to it (a fixed Gaussian random projection,
# which keeps Euclidean distances within a small factor: Johnson & Lindenstrauss 1984), so
# k-center's memory stays bounded for ConvNet-4's flattened maps (65,536 values at 512 x 512).
EMBED_DIM = 256
MAX_ENSEMBLE = 5


class QueryRejected(ValueError):
    """A query that cannot run: {field: [problems]}."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


class AlreadySent(ValueError):
    """The query went to the raters before."""


@dataclass(frozen=True)
class QueryRequest:
    version: ModelVersion
    strategy: str
    k: int
    seed: int = 0
    measure: str = "entropy"  # classifiers' uncertainty: entropy or margin
    ensemble: tuple[int, ...] = ()  # other version ids; default: the study's others


def run_query(request: QueryRequest, user=None) -> ActiveLearningQuery:
    """Rank the unrated images of the version's study and store the top k."""
    started = time.monotonic()
    version = request.version
    problems = _check(request)
    if problems:
        raise QueryRejected(problems)
    try:
        labels = study_labels(version.study, version.dimension_key)
    except LabelsError as error:  # the dimension was renamed or removed since the training
        raise QueryRejected({"dimension": [str(error)]}) from None
    pool = [image for image in labels.images if image.n_ratings == 0]
    rated = labels.rated()
    if not pool:
        raise QueryRejected({"pool": ["Every image of the study is rated on this dimension."]})
    members = _ensemble(request) if request.strategy == QueryStrategy.ENSEMBLE else []
    ranking, options = _rank(request, pool, rated, members)
    items = [
        {
            "rank": place + 1,
            "image": pool[item.index].image_id,
            "label": pool[item.index].label,
            "score": round(item.score, 6),
            "reason": item.reason,
        }
        for place, item in enumerate(ranking.items)
    ]
    return ActiveLearningQuery.objects.create(
        model_version=version,
        study=version.study,
        dimension_key=version.dimension_key,
        strategy=request.strategy,
        k=request.k,
        seed=request.seed,
        options=options,
        pool_size=len(pool),
        items=items,
        seconds=round(time.monotonic() - started, 3),
        created_by=user,
    )


def send_to_raters(query: ActiveLearningQuery, user=None) -> ActiveLearningQuery:
    """Put the query's images first in every rater's worklist, once."""
    with transaction.atomic():
        query = ActiveLearningQuery.objects.select_for_update().get(pk=query.pk)
        if query.sent_at is not None:
            raise AlreadySent(f"query {query.pk} was sent on {query.sent_at:%Y-%m-%d %H:%M}")
        priority = prioritise(query.study, [item["image"] for item in query.items])
        query.sent_at, query.sent_by, query.sent_priority = timezone.now(), user, priority
        query.save(update_fields=["sent_at", "sent_by", "sent_priority"])
    return query


# ------------------------------------------------------------------ checks


def _check(request: QueryRequest) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    version = request.version
    if request.strategy not in QueryStrategy.values:
        problems["strategy"] = [f"Choose one of {', '.join(QueryStrategy.values)}."]
    if not 1 <= request.k <= MAX_K:
        problems["k"] = [f"Between 1 and {MAX_K}."]
    if request.measure not in ("entropy", "margin"):
        problems["measure"] = ["entropy or margin."]
    if problems or request.strategy == QueryStrategy.RANDOM:
        return problems
    if version.arch == Architecture.IQM_LINEAR and request.strategy != QueryStrategy.ENSEMBLE:
        problems["strategy"] = [
            "An image-quality-metric regression has no dropout and no features: use random "
            "or ensemble."
        ]
    needs_dropout = request.strategy in (QueryStrategy.UNCERTAINTY, QueryStrategy.HYBRID)
    if needs_dropout and version.target == Target.REGRESSION and not version.config.get("dropout"):
        problems["strategy"] = [
            "MC-dropout needs a version trained with dropout > 0 (settings.dropout); this one "
            "has none. Use ensemble, diversity or random, or train with dropout."
        ]
    return problems


def _ensemble(request: QueryRequest) -> list[ModelVersion]:
    version = request.version
    others = ModelVersion.objects.filter(
        study=version.study, dimension_key=version.dimension_key, target=version.target
    ).exclude(pk=version.pk)
    if request.ensemble:
        chosen = list(others.filter(pk__in=request.ensemble))
        missing = set(request.ensemble) - {v.pk for v in chosen} - {version.pk}
        if missing:
            raise QueryRejected({"ensemble": [
                f"Version(s) {sorted(missing)} are not versions of this study, dimension and "
                "target."
            ]})  # fmt: skip
    else:
        chosen = list(others.order_by("-created_at", "-pk")[: MAX_ENSEMBLE - 1])
    if not chosen:
        raise QueryRejected({"strategy": [
            "Ensemble disagreement needs at least two model versions of this study, dimension "
            "and target; there is one. Train another (another architecture or seed)."
        ]})  # fmt: skip
    return [version, *chosen]


# ------------------------------------------------------------------ ranking


def _rank(
    request: QueryRequest,
    pool: list[LabelledImage],
    rated: list[LabelledImage],
    members: list[ModelVersion],
) -> tuple[strategies.Ranking, dict]:
    strategy, k, seed = request.strategy, request.k, request.seed
    if strategy == QueryStrategy.RANDOM:
        return strategies.random_ranking(len(pool), k, seed), {}
    if strategy == QueryStrategy.ENSEMBLE:
        predictions = [_scores(Predictor(member), pool) for member in members]
        options = {"ensemble": [member.pk for member in members]}
        if request.version.target == Target.REGRESSION:
            return strategies.ensemble_ranking(k, scores=np.stack(predictions)), options
        return strategies.ensemble_ranking(k, probabilities=np.stack(predictions)), options
    predictor = Predictor(request.version)
    if strategy == QueryStrategy.DIVERSITY:
        return strategies.diversity_ranking(
            _features(predictor, pool), k, _features(predictor, rated)
        ), {"embedding_dim": EMBED_DIM}
    uncertainty, label, options = _uncertainty(request, predictor, pool)
    if strategy == QueryStrategy.UNCERTAINTY:
        return strategies.Ranking(uncertainty.strategy, uncertainty.items[:k]), options
    values = np.zeros(len(pool))
    for item in uncertainty.items:
        values[item.index] = item.score
    ranking = strategies.hybrid_ranking(
        values, _features(predictor, pool), k, _features(predictor, rated), label=label
    )
    return ranking, {**options, "shortlist": strategies.HYBRID_SHORTLIST}


def _uncertainty(
    request: QueryRequest, predictor: Predictor, pool: list[LabelledImage]
) -> tuple[strategies.Ranking, str, dict]:
    """Every pool item's uncertainty, as a full ranking (hybrid needs them all)."""
    n = len(pool)
    model = predictor.model
    if request.version.target == Target.REGRESSION and not strategies.has_dropout(model):
        # ResNet-10 ignores `dropout` in its config: the version has none to sample.
        raise QueryRejected({"strategy": [
            f"This {request.version.arch} version has no dropout layer to sample: MC-dropout "
            "cannot measure its uncertainty. Use ensemble, diversity or random."
        ]})  # fmt: skip
    trunk = fast_convnet4_trunk(model) if request.version.arch == Architecture.CONVNET4 else None
    if request.version.target == Target.REGRESSION:
        samples = strategies.mc_dropout_passes(
            model, _batches(predictor, pool), MC_PASSES, seed=request.seed, trunk=trunk
        )
        options = {"measure": "mc-dropout-sd", "passes": MC_PASSES}
        return strategies.uncertainty_ranking(n, mc_samples=samples), "MC-dropout SD", options
    if strategies.has_dropout(model):
        passes = strategies.mc_dropout_passes(
            model, _batches(predictor, pool), MC_PASSES, seed=request.seed, trunk=trunk
        )
        probabilities = passes.mean(axis=0)
        options = {"measure": request.measure, "passes": MC_PASSES}
    else:
        probabilities = _scores(predictor, pool)
        options = {"measure": request.measure, "passes": 1}
    ranking = strategies.uncertainty_ranking(
        n, probabilities=probabilities, measure=request.measure
    )
    return ranking, request.measure, options


def _batches(predictor: Predictor, images: list[LabelledImage]) -> Iterator[torch.Tensor]:
    files = representative_files(image.image_id for image in images)
    paths: list[Path] = [files[image.image_id] for image in images]
    for start in range(0, len(paths), BATCH):
        yield torch.stack([load(path, predictor.prep) for path in paths[start : start + BATCH]])


@torch.inference_mode()
def _scores(predictor: Predictor, images: list[LabelledImage]) -> np.ndarray:
    """Scores (n,) of a regressor, class probabilities (n, k) of a classifier."""
    if predictor.iqm is not None:
        files = representative_files(image.image_id for image in images)
        return np.array([predictor.score_file(files[image.image_id])[0] for image in images])
    model = predictor.model.eval()
    chunks = []
    for x in _batches(predictor, images):
        out = outputs(model, x)
        chunks.append(out if out.dim() == 1 else out.softmax(dim=1))
    return torch.cat(chunks).numpy()


@torch.inference_mode()
def _features(predictor: Predictor, images: list[LabelledImage]) -> np.ndarray:
    if not images:
        return np.zeros((0, EMBED_DIM))
    model = predictor.model.eval()
    chunks = [embed(model, x).numpy() for x in _batches(predictor, images)]
    features = np.concatenate(chunks).astype(np.float64)
    if features.shape[1] > EMBED_DIM:
        # The same projection for pool and rated images: seeded by the width, not the query.
        rng = np.random.default_rng(features.shape[1])
        projection = rng.normal(0.0, 1.0 / np.sqrt(EMBED_DIM), (features.shape[1], EMBED_DIM))
        features = features @ projection
    return features
