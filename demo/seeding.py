"""Build the demo: generated images with known truth, real pydicom files, studies, ratings.

Everything goes through the same ingest as real uploads, so the demo exercises the real path.
Ratings come from simulated raters with planted biases (ratings/demo/raters.py), so every
statistic on the demo can be checked against a known truth.
"""

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from pydicom.data import get_testdata_files

from imaging.ingest import IngestReport, ingest_paths
from imaging.models import Dataset, Image
from ratings.models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    DimensionKind,
    Membership,
    Profession,
    RaterProfile,
    Rating,
    ReaderStudy,
    Role,
    StudyImage,
)
from ratings.permissions import STUDY_MANAGERS
from ratings.results.freshness import bump

from .accounts import ADMIN, COORDINATOR, DEMO_PASSWORD, RESEARCHER
from .synthetic import raters as sim
from .synthetic.degrade import ChestTruth
from .synthetic.generate import generate_chest_dataset, generate_mr_dataset
from .synthetic.mr_motion import MR_CLASSES

CHEST_STUDY = "Chest radiograph quality"
MR_STUDY = "MR diagnostic quality"
REAL_STUDY = "Real DICOM samples"
# The chest paper's criteria (its Table 1, from the European Commission guidelines).
GRAY_LEVEL_CRITERIA = (
    "Reproduction of the vascular pattern in the whole lung, particularly the peripheral "
    "vessels. Visualization of the retrocardiac lung and the mediastinum. Visualization of the "
    "spine through the heart shadow."
)
SHARPNESS_CRITERIA = (
    "Visually sharp reproduction of the trachea and proximal bronchi, of the borders of the "
    "heart and aorta, and of the diaphragm and costophrenic angles."
)
ACCEPTABLE_CRITERIA = "Would the quality of gray-level and sharpness allow a diagnosis?"
MR_CRITERIA = (
    "Non-diagnostic: motion artifacts prevent a diagnosis. Diagnostic: artifacts present but "
    "the image can be read. Excellent: no visible artifact."
)
# Share of each rater's own reading order left unrated, so every demo login has work to do
# (on top of each simulated rater's coverage).
CHEST_LEFT_UNRATED = 0.1
MR_LEFT_UNRATED = 0.15
# Share of chest images forming the "test set" on which three experts vote acceptability.
ACCEPTABLE_SHARE = 0.3


@dataclass(frozen=True)
class DemoSize:
    chest_images: int = 120
    mr_series: int = 30  # all three classes, enough disagreement to see in the Jaccard matrix
    mr_slices: int = 4  # 120 slices in all: about what 12 series x 8 cost to generate
    real_files: bool = True


Say = Callable[[str], None]


def seed_demo(size: DemoSize = DemoSize(), seed: int = 2026, say: Say = print) -> dict:
    """Create the demo's users, datasets, studies and simulated ratings; return a summary."""
    people = _people()
    with tempfile.TemporaryDirectory(prefix="iqa-demo-") as tmp:
        say(f"Generating {size.chest_images} chest radiographs with known degradation ...")
        chest = generate_chest_dataset(Path(tmp) / "chest", size.chest_images, seed, workers=2)
        say(f"Generating {size.mr_series} MR series with simulated k-space motion ...")
        mr = generate_mr_dataset(Path(tmp) / "mr", size.mr_series, size.mr_slices, seed, workers=2)
        say("Importing them through the ingest (de-identification, thumbnails) ...")
        chest_images = _import_generated(
            "Demo chest radiographs", [g.path for g in chest], {g.path.name for g in chest}
        )
        mr_images = _import_generated(
            "Demo MR series", [Path(tmp) / "mr"], {s.paths[0].parent.name for s in mr}
        )
    chest_by_key = {g.path.name: g for g in chest}
    mr_by_key = {s.paths[0].parent.name: s for s in mr}
    for key, image in chest_images.items():
        generated = chest_by_key[key]
        image.truth = {
            "gray_level": round(generated.truth.gray_level, 3),
            "sharpness": round(generated.truth.sharpness, 3),
            "acceptable": generated.truth.acceptable,
            "degradation": _as_dict(generated.spec),
        }
    for key, image in mr_images.items():
        series = mr_by_key[key]
        image.truth = {
            "mr_quality": series.truth_label,
            "mr_quality_class": series.truth_class,
            "motion_severity": round(series.motion.severity, 4),
        }
    Image.objects.bulk_update([*chest_images.values(), *mr_images.values()], ["truth"])

    chest_study = _chest_study(chest_images, people, seed)
    mr_study = _mr_study(mr_images, people, seed)
    summary = {
        "chest_images": len(chest_images),
        "mr_images": len(mr_images),
        "chest_assessments": chest_study.assessments.count(),
        "mr_assessments": mr_study.assessments.count(),
    }
    if size.real_files:
        say("Importing the real DICOM files that ship with pydicom ...")
        real = Dataset.objects.create(name="pydicom sample files")
        report = ingest_paths(real, get_testdata_files())
        _real_study(real, people)
        summary["real_files"] = report.summary()
    return summary


def _as_dict(spec) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(spec).items()}


def _people() -> dict[str, object]:
    users = get_user_model().objects
    people = {}
    admin, _ = users.get_or_create(
        username=ADMIN, defaults={"is_staff": True, "is_superuser": True}
    )
    people[ADMIN] = admin
    people[COORDINATOR], _ = users.get_or_create(username=COORDINATOR)
    # The coordinator may create datasets and studies (ratings.permissions.STUDY_MANAGERS).
    managers, _ = Group.objects.get_or_create(name=STUDY_MANAGERS)
    people[COORDINATOR].groups.add(managers)
    people[RESEARCHER], _ = users.get_or_create(username=RESEARCHER)
    for index, rater in enumerate(sim.default_raters(), start=1):
        user, _ = users.get_or_create(username=rater.key)
        RaterProfile.objects.get_or_create(
            user=user,
            defaults={
                "pseudonym": f"R{index:02d}",
                "profession": Profession(rater.profession),
                "years_experience": 15 + index,
            },
        )
        people[rater.key] = user
    for user in people.values():
        user.set_password(DEMO_PASSWORD)
        user.save()
    return people


def _import_generated(name: str, paths: list[Path], keys: set[str]) -> dict[str, Image]:
    """Ingest generated files; map each generated item's key to its Image."""
    dataset = Dataset.objects.create(name=name)
    report: IngestReport = ingest_paths(dataset, paths)
    if report.n_skipped:
        reasons = {o.reason for o in report.outcomes if o.status == "skipped"}
        raise RuntimeError(f"demo files were refused by the ingest: {reasons}")
    images = {image.pk: image for image in Image.objects.filter(dataset=dataset)}
    mapped = {}
    for outcome in report.outcomes:
        parts = Path(outcome.name).parts
        key = next(part for part in reversed(parts) if part in keys)
        mapped[key] = images[outcome.image]
    return mapped


def _study(name: str, dataset: Dataset, images, instructions: str, seed: int) -> ReaderStudy:
    study = ReaderStudy.objects.create(
        name=name, dataset=dataset, instructions=instructions, order_seed=seed, min_view_ms=1000
    )
    StudyImage.objects.bulk_create([StudyImage(study=study, image=image) for image in images])
    return study


def _members(study: ReaderStudy, people: dict, rater_keys: list[str]) -> None:
    rows = [Membership(study=study, user=people[key], role=Role.RATER) for key in rater_keys]
    rows.append(Membership(study=study, user=people[COORDINATOR], role=Role.COORDINATOR))
    rows.append(Membership(study=study, user=people[RESEARCHER], role=Role.RESEARCHER))
    Membership.objects.bulk_create(rows)


def chest_paper_dimensions(study: ReaderStudy) -> tuple[Dimension, Dimension, Dimension]:
    """The chest paper's dimensions: gray-level and sharpness (1-10), acceptable (binary)."""
    return (
        Dimension.objects.create(
            study=study, key="gray-level", label="Gray-level", criteria=GRAY_LEVEL_CRITERIA, order=0
        ),
        Dimension.objects.create(
            study=study, key="sharpness", label="Sharpness", criteria=SHARPNESS_CRITERIA, order=1
        ),
        Dimension.objects.create(
            study=study,
            key="acceptable",
            label="Acceptable",
            kind=DimensionKind.BINARY,
            min_value=0,
            max_value=1,
            criteria=ACCEPTABLE_CRITERIA,
            order=2,
        ),
    )


@transaction.atomic
def _chest_study(images: dict[str, Image], people: dict, seed: int) -> ReaderStudy:
    dataset = next(iter(images.values())).dataset
    study = _study(
        CHEST_STUDY,
        dataset,
        images.values(),
        "Score each posterior-anterior chest radiograph from 1 (worst) to 10 (best) for "
        "gray-level and for sharpness, from your own perception of its quality. You may zoom, "
        "pan and window. Where asked, say whether the image is acceptable for diagnosis.",
        seed,
    )
    raters = sim.default_raters()
    gray, sharp, acceptable = chest_paper_dimensions(study)
    # As in the chest paper: three senior experts judge acceptability, on the test set only.
    keys = sorted(images)
    test_keys = set(keys[: max(1, int(len(keys) * ACCEPTABLE_SHARE))])
    acceptable.raters.set([people[r.key] for r in raters if r.votes_acceptable])
    acceptable.images.set([images[k] for k in test_keys])
    _members(study, people, [r.key for r in raters])

    truths = {key: _truth(image) for key, image in images.items()}
    readings = sim.simulate_chest_ratings(truths, raters, seed=seed, acceptable_keys=test_keys)
    cutoff = int(len(images) * (1 - CHEST_LEFT_UNRATED))
    readings = [r for r in readings if r.sequence < cutoff]
    dims = {sim.GRAY_LEVEL: gray, sim.SHARPNESS: sharp, sim.ACCEPTABLE: acceptable}
    _store_readings(study, images, people, readings, dims)
    return study


def _truth(image: Image) -> ChestTruth:
    t = image.truth
    return ChestTruth(
        gray_level=t["gray_level"], sharpness=t["sharpness"], acceptable=t["acceptable"]
    )


@transaction.atomic
def _mr_study(images: dict[str, Image], people: dict, seed: int) -> ReaderStudy:
    dataset = next(iter(images.values())).dataset
    study = _study(
        MR_STUDY,
        dataset,
        images.values(),
        "Scroll through each MR series and classify its diagnostic quality.",
        seed,
    )
    quality = Dimension.objects.create(
        study=study,
        key="mr-quality",
        label="Diagnostic quality",
        kind=DimensionKind.CATEGORY,
        min_value=0,
        max_value=len(MR_CLASSES) - 1,
        categories=["non-diagnostic", "diagnostic", "excellent"],
        criteria=MR_CRITERIA,
    )
    raters = [r for r in sim.default_raters() if r.rates_mr]
    _members(study, people, [r.key for r in raters])
    severities = {key: image.truth["motion_severity"] for key, image in images.items()}
    readings = sim.simulate_mr_ratings(severities, raters, seed=seed)
    cutoff = int(len(images) * (1 - MR_LEFT_UNRATED))
    readings = [r for r in readings if r.sequence < cutoff]
    _store_readings(study, images, people, readings, {sim.MR_QUALITY: quality})
    return study


def _store_readings(study, images, people, readings, dimensions: dict[str, Dimension]) -> None:
    """Assessments with plausible timestamps (one rater reads one image after another)."""
    start = timezone.now() - timedelta(days=7)
    assessments, values = [], []
    for reading in sorted(readings, key=lambda r: (r.rater_key, r.sequence)):
        opened = start + timedelta(minutes=2 * reading.sequence)
        rendered = opened + timedelta(milliseconds=350)
        submitted = rendered + timedelta(milliseconds=reading.active_ms + 400)
        assessments.append(
            Assessment(
                study=study,
                image=images[reading.image_key],
                rater=people[reading.rater_key],
                status=AssessmentStatus.SUBMITTED,
                opened_at=opened,
                first_rendered_at=rendered,
                submitted_at=submitted,
                active_ms=reading.active_ms,
                zoom_count=reading.zoom_count,
                pan_count=reading.pan_count,
                window_count=reading.window_count,
                client_timing={"source": "simulated"},
            )
        )
        values.append(reading.values)
    created = Assessment.objects.bulk_create(assessments)
    ratings = [
        Rating(assessment=assessment, dimension=dimensions[key], value=int(value))
        for assessment, given in zip(created, values, strict=True)
        for key, value in given.items()
    ]
    Rating.objects.bulk_create(ratings)
    bump(study.pk)  # bulk inserts send no signals


@transaction.atomic
def _real_study(dataset: Dataset, people: dict) -> ReaderStudy:
    images = list(dataset.images.all())
    study = _study(
        REAL_STUDY,
        dataset,
        images,
        "Real DICOM files of many modalities and encodings (pydicom's test files). "
        "Score the overall image quality.",
        7,
    )
    study.min_view_ms = 0
    study.save(update_fields=["min_view_ms"])
    Dimension.objects.create(study=study, key="overall", label="Overall quality", order=0)
    _members(study, people, [sim.default_raters()[0].key, sim.default_raters()[1].key])
    return study
