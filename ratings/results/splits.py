"""Make and store a train / validation / test split of a study's (or a dataset's) images."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.db import transaction

from imaging.models import Dataset, Image

from ..models import DimensionKind, ReaderStudy, Split, SplitAssignment, StratifyBy
from .mos_table import dimension_tables
from .splitting import SUBSETS, SplitError, assign_subsets, equal_width_bins, normalise_ratios

__all__ = ["SplitError", "make_split", "split_subsets"]


def _strata(study: ReaderStudy, image_ids: list[int], by: str, key: str, n_bins: int) -> list[str]:
    if by == StratifyBy.NONE:
        return ["all"] * len(image_ids)
    if study is None:
        raise SplitError("stratifying needs a study (its ratings); a dataset has none")
    tables = {t.dimension.key: t for t in dimension_tables(study)}
    if key not in tables:
        known = ", ".join(tables) or "none"
        raise SplitError(f"no dimension {key!r} in study {study.name!r} (dimensions: {known})")
    table = tables[key]
    kind = table.dimension.kind
    position = {pk: i for i, pk in enumerate(table.image_ids)}
    rows = [position[pk] for pk in image_ids]
    if by == StratifyBy.MOS_BINS:
        if kind != DimensionKind.SCORE:
            raise SplitError(f"MOS bins need a score dimension; {key!r} is {kind}")
        low, high = table.dimension.min_value, table.dimension.max_value
        return equal_width_bins(table.mean[rows], low, high, n_bins)
    if kind == DimensionKind.SCORE:
        raise SplitError(f"labels need a binary or category dimension; {key!r} is a score")
    return [table.majority[i] or "no majority" for i in rows]


def _summary(patients: list[str], strata: list[str], subsets: list[str]) -> dict:
    """Images and patients per subset, and images per stratum and subset."""
    rows = list(zip(patients, strata, subsets, strict=True))
    by_stratum: dict[str, Counter] = {}
    for _patient, stratum, subset in rows:
        by_stratum.setdefault(stratum, Counter())[subset] += 1
    return {
        "n_images": {s: sum(1 for r in rows if r[2] == s) for s in SUBSETS},
        "n_patients": {s: len({r[0] for r in rows if r[2] == s}) for s in SUBSETS},
        "strata": {k: dict(v) for k, v in sorted(by_stratum.items())},
    }


def make_split(
    *,
    ratios: Sequence[float],
    seed: int,
    study: ReaderStudy | None = None,
    dataset: Dataset | None = None,
    stratify_by: str = StratifyBy.NONE,
    dimension: str = "",
    n_bins: int = 3,
    name: str = "",
    user=None,
) -> Split:
    """Assign every image of the study (or dataset) to train / val / test and store it.

    Images of one ``patient_key`` always land in the same subset. Raises SplitError.
    """
    if study is None and dataset is None:
        raise SplitError("give a study or a dataset")
    if stratify_by not in StratifyBy.values:
        raise SplitError(f"stratify_by must be one of {StratifyBy.values}")
    if stratify_by != StratifyBy.NONE and not dimension:
        raise SplitError("stratifying needs a dimension key")
    shares = normalise_ratios(ratios)
    dataset = dataset or study.dataset
    images = (
        Image.objects.filter(study_images__study=study) if study else dataset.images.all()
    ).order_by("pk")
    ids, patients = [], []
    for pk, patient in images.values_list("pk", "patient_key"):
        ids.append(pk)
        patients.append(patient or f"image-{pk}")  # no key: the image is its own group
    if not ids:
        raise SplitError("there are no images to split")
    strata = _strata(study, ids, stratify_by, dimension, n_bins)
    subsets = assign_subsets(patients, strata, shares, seed)
    summary = _summary(patients, strata, subsets)
    with transaction.atomic():
        split = Split.objects.create(
            study=study,
            dataset=dataset,
            name=name,
            seed=seed,
            train_ratio=shares[0],
            val_ratio=shares[1],
            test_ratio=shares[2],
            stratify_by=stratify_by,
            stratify_dimension=dimension,
            n_bins=n_bins,
            summary=summary,
            created_by=user,
        )
        SplitAssignment.objects.bulk_create(
            [
                SplitAssignment(split=split, image_id=pk, subset=subset)
                for pk, subset in zip(ids, subsets, strict=True)
            ],
            batch_size=5000,
        )
    return split


def split_subsets(split: Split) -> dict[int, str]:
    """Image id -> subset of a stored split (what a training run reads)."""
    return dict(split.assignments.values_list("image_id", "subset"))


def patients_in_two_subsets(split: Split) -> list[str]:
    """Patient keys found in more than one subset (always empty for a split made here)."""
    pairs = set(split.assignments.values_list("image__patient_key", "subset").distinct())
    seen = Counter(patient for patient, _subset in pairs)
    return sorted(p for p, n in seen.items() if n > 1)
