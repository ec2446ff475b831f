"""Data for the reading-page tests: studies over really ingested DICOM (synthetic or pydicom's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from imaging.ingest import ingest_paths
from imaging.models import Dataset
from ratings.models import (
    Dimension,
    DimensionKind,
    Membership,
    RaterProfile,
    ReaderStudy,
    Role,
    StudyImage,
)
from tests.factories import names

GRAY_CRITERIA = (
    "Reproduction of the vascular pattern in the whole lung, particularly the peripheral vessels.\n"
    "Visualization of the retrocardiac lung and the mediastinum.\n"
    "Visualization of the spine through the heart shadow."
)
SHARP_CRITERIA = (
    "Visually sharp reproduction of the trachea and proximal bronchi, the borders of the heart "
    "and aorta, the diaphragm and costophrenic angles."
)


def pydicom_data_file(name: str) -> Path:
    """A real DICOM file shipped by pydicom or the pydicom-data package (no download)."""
    import data_store
    import pydicom.data

    for folder in (
        Path(data_store.__file__).parent / "data",
        Path(pydicom.data.__file__).parent / "test_files",
    ):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(name)


def make_reading_study(
    people: dict,
    dataset: Dataset,
    *,
    name: str = "Chest radiograph quality",
    raters: tuple[str, ...] = (names.RATER, names.RATER2),
    **study_fields,
) -> ReaderStudy:
    """A study over all of `dataset`'s images with the paper's dimensions and named members."""
    study = ReaderStudy.objects.create(
        name=name,
        dataset=dataset,
        instructions="Rate gray-level and sharpness from 1 (worst) to 10 (best).",
        order_seed=7,
        **study_fields,
    )
    StudyImage.objects.bulk_create(
        StudyImage(study=study, image=image) for image in dataset.images.all()
    )
    Dimension.objects.create(
        study=study, key="gray-level", label="Gray-level", order=0, criteria=GRAY_CRITERIA
    )
    Dimension.objects.create(
        study=study, key="sharpness", label="Sharpness", order=1, criteria=SHARP_CRITERIA
    )
    Dimension.objects.create(
        study=study,
        key="acceptable",
        label="Acceptable for diagnosis",
        kind=DimensionKind.BINARY,
        min_value=0,
        max_value=1,
        order=2,
        criteria="Would the gray-level or the sharpness of this image affect a diagnosis?",
    )
    for username in raters:
        Membership.objects.create(user=people[username], study=study, role=Role.RATER)
        RaterProfile.objects.get_or_create(
            user=people[username], defaults={"pseudonym": f"R-{username}"}
        )
    Membership.objects.create(user=people[names.COORDINATOR], study=study, role=Role.COORDINATOR)
    return study


def ingest_files(dataset_name: str, files: list[Path], tmp_path: Path) -> Dataset:
    folder = tmp_path / f"in-{dataset_name}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    dataset = Dataset.objects.create(name=dataset_name)
    report = ingest_paths(dataset, [folder], workers=1)
    assert report.n_imported == len(files), report.summary()
    return dataset


def chest_dataset(tmp_path: Path, n_images: int, seed: int = 3) -> Dataset:
    """`n_images` synthetic 768x512 chest radiographs, ingested (de-identified) into a dataset."""
    from demo.synthetic.generate import generate_chest_dataset

    folder = tmp_path / f"chest-{seed}"
    generate_chest_dataset(folder, n_images, seed=seed, unique_uids=True)
    dataset = Dataset.objects.create(name=f"chest-{seed}-{os.getpid()}-{n_images}")
    report = ingest_paths(dataset, [folder], workers=1)
    assert report.n_imported == n_images, report.summary()
    return dataset
