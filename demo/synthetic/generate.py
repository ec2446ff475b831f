"""Generate folders of synthetic DICOM (chest radiographs, MR series) with their known truth."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from demo.synthetic.degrade import (
    ChestDegradation,
    ChestTruth,
    chest_truth,
    degrade_chest,
    random_chest_degradation,
    to_12bit,
)
from demo.synthetic.dicom_writer import (
    MRSeriesInfo,
    RadiographInfo,
    StudyInfo,
    uid,
    write_mr_series,
    write_radiograph,
)
from demo.synthetic.identities import (
    FakeSite,
    fake_patient,
    fake_sites,
    person_name,
    study_datetime,
)
from demo.synthetic.mr_motion import (
    MR_CLASSES,
    MRMotion,
    apply_mr_motion,
    mr_quality_class,
    plan_mr_classes,
    random_mr_motion,
)
from demo.synthetic.phantoms import (
    brain_phantom,
    chest_phantom,
    random_brain_anatomy,
    random_chest_anatomy,
)

# Images per patient: mostly one, some follow-ups, so patient-grouped splits matter.
IMAGES_PER_PATIENT_P = (0.45, 0.30, 0.15, 0.10)
MR_FULL_SCALE = 1800.0  # typical magnitude range of a T1 SE series


@dataclass(frozen=True)
class GeneratedImage:
    """One chest radiograph file and its known truth."""

    key: str
    path: Path
    patient_key: str  # stable pseudonym for grouped splits (the file holds the fake PatientID)
    patient_id: str
    modality: str
    photometric: str
    truth: ChestTruth
    spec: ChestDegradation


@dataclass(frozen=True)
class GeneratedSeries:
    """One MR series (one file per slice) and its known 3-class truth."""

    key: str
    paths: list[Path]
    patient_key: str
    patient_id: str
    motion: MRMotion
    truth_class: int  # index into MR_CLASSES

    @property
    def truth_label(self) -> str:
        """Class name: non_diagnostic, diagnostic or excellent."""
        return MR_CLASSES[self.truth_class]


def _uid(unique: bool, *entropy: object) -> str:
    """Deterministic UID from the seed, or a fresh one when files must not collide on re-import."""
    return uid(time.time_ns(), os.getpid(), *entropy) if unique else uid(*entropy)


def _chest_patient(
    folder: Path,
    seed: int,
    p_index: int,
    image_indices: list[int],
    sites: list[FakeSite],
    unique_uids: bool,
) -> list[GeneratedImage]:
    """Render one patient's radiographs: one anatomy, several exams, each its own degradation."""
    rng = np.random.default_rng([seed, 1, p_index])
    patient = fake_patient(rng)
    clean = chest_phantom(random_chest_anatomy(rng))
    site = sites[int(rng.integers(len(sites)))]
    padded = np.pad(clean, 8, mode="edge")
    when: datetime | None = None
    out = []
    for i in image_indices:
        when = study_datetime(rng, after=when)
        spec = random_chest_degradation(rng)
        # Repositioning between exams: a small shift of the whole field.
        dy, dx = (int(x) for x in rng.integers(-8, 9, 2))
        shifted = padded[8 + dy : 8 + dy + clean.shape[0], 8 + dx : 8 + dx + clean.shape[1]]
        pixels = to_12bit(degrade_chest(shifted, spec))
        modality = "CR" if rng.uniform() < 0.25 else "DX"
        mono1 = rng.uniform() < (0.6 if modality == "CR" else 0.15)
        study = StudyInfo(
            patient=patient,
            site=site,
            study_uid=_uid(unique_uids, seed, "study", i),
            accession_number=f"A{int(rng.integers(10**8, 10**9))}",
            when=when,
            referring_physician=person_name(rng),
            operator=person_name(rng),
            study_id=str(int(rng.integers(1, 99999))),
        )
        info = RadiographInfo(
            modality=modality,
            photometric="MONOCHROME1" if mono1 else "MONOCHROME2",
            series_uid=_uid(unique_uids, seed, "series", i),
            sop_uid=_uid(unique_uids, seed, "sop", i),
            pixel_spacing_mm=round(float(rng.uniform(0.5, 0.56)), 3),
            kvp=float(rng.choice([110.0, 115.0, 120.0, 125.0])),
            # The exposure error shows in the technique factors, as it would on a real console.
            mas=round(2.5 * 2.0**spec.exposure_ev, 2),
        )
        key = f"cxr-{i + 1:05d}"
        path = write_radiograph(folder / f"{key}.dcm", pixels, study, info)
        out.append(
            GeneratedImage(
                key,
                path,
                f"pt-{p_index + 1:05d}",
                patient.patient_id,
                modality,
                info.photometric,
                chest_truth(spec),
                spec,
            )
        )
    return out


def _plan_patients(n_images: int, seed: int) -> list[list[int]]:
    """Split image indices 0..n-1 into patients of 1-4 images."""
    rng = np.random.default_rng([seed, 0])
    groups, start = [], 0
    while start < n_images:
        k = int(rng.choice(len(IMAGES_PER_PATIENT_P), p=IMAGES_PER_PATIENT_P)) + 1
        groups.append(list(range(start, min(start + k, n_images))))
        start += k
    return groups


def generate_chest_dataset(
    folder: str | Path, n_images: int, seed: int = 0, *, workers: int = 1, unique_uids: bool = False
) -> list[GeneratedImage]:
    """Write `n_images` chest radiographs (768x512, 12 bits in 16) as `folder/cxr-NNNNN.dcm`.

    The same seed gives the same pixels, identifiers and UIDs whatever `workers` is; set
    `unique_uids` when the same folder may be imported twice into one database.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sites = fake_sites(np.random.default_rng([seed, 2]))
    groups = _plan_patients(n_images, seed)
    args = [(folder, seed, p, g, sites, unique_uids) for p, g in enumerate(groups)]
    if workers <= 1:
        results = [_chest_patient(*a) for a in args]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_chest_patient, *zip(*args, strict=True), chunksize=4))
    return [img for group in results for img in group]


def _mr_series(
    folder: Path,
    seed: int,
    s_index: int,
    slices: int,
    site: FakeSite,
    unique_uids: bool,
    cls: int | None = None,
) -> GeneratedSeries:
    """Render and write one axial brain series with one motion severity for all its slices."""
    rng = np.random.default_rng([seed, 3, s_index])
    patient = fake_patient(rng)
    anatomy = random_brain_anatomy(rng)
    motion = random_mr_motion(rng, cls)
    noise = np.random.default_rng([seed, 4, s_index])
    volume = []
    for j, z in enumerate(np.linspace(-0.5, 0.7, slices)):
        img = apply_mr_motion(brain_phantom(anatomy, float(z)), motion, j)
        # Magnitude images carry Rician noise: the modulus of signal plus complex Gaussian noise.
        re, im = noise.normal(0.0, 0.012, (2, *img.shape))
        volume.append(np.hypot(img + re, im))
    vol = np.clip(np.array(volume) * MR_FULL_SCALE, 0, 65535).round().astype(np.uint16)
    key = f"mr-{s_index + 1:04d}"
    study = StudyInfo(
        patient=patient,
        site=site,
        study_uid=_uid(unique_uids, seed, "mr-study", s_index),
        accession_number=f"M{int(rng.integers(10**8, 10**9))}",
        when=study_datetime(rng),
        referring_physician=person_name(rng),
        operator=person_name(rng),
        description="MR BRAIN",
    )
    series = MRSeriesInfo(
        series_uid=_uid(unique_uids, seed, "mr-series", s_index),
        frame_of_reference_uid=_uid(unique_uids, seed, "mr-for", s_index),
        sop_uids=[_uid(unique_uids, seed, "mr-sop", s_index, j) for j in range(slices)],
        field_strength_t=float(rng.choice([1.5, 3.0])),
    )
    paths = write_mr_series(folder / key, vol, study, series)
    return GeneratedSeries(
        key,
        paths,
        f"mr-pt-{s_index + 1:04d}",
        patient.patient_id,
        motion,
        mr_quality_class(motion.severity),
    )


def generate_mr_dataset(
    folder: str | Path,
    n_series: int,
    slices: int = 12,
    seed: int = 0,
    *,
    workers: int = 1,
    unique_uids: bool = False,
) -> list[GeneratedSeries]:
    """Write `n_series` axial brain MR series (256x256, 16-bit) as `folder/mr-NNNN/SSS.dcm`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sites = fake_sites(np.random.default_rng([seed, 2]))
    plan = plan_mr_classes(n_series, seed)
    args = [
        (folder, seed, s, slices, sites[s % len(sites)], unique_uids, plan[s])
        for s in range(n_series)
    ]
    if workers <= 1:
        return [_mr_series(*a) for a in args]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_mr_series, *zip(*args, strict=True)))


def manifest(items: Sequence[GeneratedImage | GeneratedSeries], root: str | Path) -> list[dict]:
    """Plain records of generated items (paths relative to `root`), for JSON manifests."""
    root = Path(root)
    rows = []
    for item in items:
        row = asdict(item)
        if isinstance(item, GeneratedImage):
            row["path"] = str(item.path.relative_to(root))
        else:
            row["paths"] = [str(p.relative_to(root)) for p in item.paths]
            row["truth_label"] = item.truth_label
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: write a folder of synthetic DICOM plus manifest.json, and print files per second."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--n", type=int, default=500, help="chest radiographs")
    parser.add_argument("--mr-series", type=int, default=0)
    parser.add_argument("--slices", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--unique-uids", action="store_true")
    a = parser.parse_args(argv)
    t0 = time.perf_counter()
    chest = generate_chest_dataset(a.out, a.n, a.seed, workers=a.workers, unique_uids=a.unique_uids)
    mr = (
        generate_mr_dataset(
            a.out / "mr",
            a.mr_series,
            a.slices,
            a.seed,
            workers=a.workers,
            unique_uids=a.unique_uids,
        )
        if a.mr_series
        else []
    )
    elapsed = time.perf_counter() - t0
    files = len(chest) + sum(len(s.paths) for s in mr)
    (a.out / "manifest.json").write_text(
        json.dumps({"chest": manifest(chest, a.out), "mr": manifest(mr, a.out)}, default=str)
    )
    print(f"{files} files in {elapsed:.1f} s ({files / elapsed:.1f} files/s) -> {a.out}")


if __name__ == "__main__":
    main()
