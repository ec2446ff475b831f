"""Frozen, versioned dataset releases: a snapshot of the labels, then a byte-stable zip.

The zip holds README.md (the data card), labels.csv, agreement.json, the images (the
de-identified DICOM files, or PNG renderings at a chosen size) and SHA256SUMS (checkable with
``sha256sum -c``). Everything but the image files comes from ``DatasetRelease.snapshot``; the
entries have fixed timestamps, permissions and order - so a release's zip always has the same
bytes, and ratings added later only ever reach a new version.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from imaging.models import Image, ImageFile

from ..models import (
    AuditAction,
    DatasetRelease,
    DimensionKind,
    ExportJob,
    ImageFormat,
    ReaderStudy,
    Split,
)
from ..services import audit
from .csv_cells import safe_row
from .jobs import ExportFile, ExportParamsError
from .mos_table import TIE_RULE, dimension_tables, number
from .records import rater_names
from .splits import split_subsets

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bytes
PNG_SIZES = (32, 4096)
DEFAULT_PNG_SIZE = 512
SNAPSHOT_VERSION = 1

Progress = Callable[[float], None]


def clean_release_params(study: ReaderStudy, params: dict[str, Any]) -> dict[str, Any]:
    """Check a release request: split (id, optional), image_format, png_size."""
    unknown = set(params) - {"split", "image_format", "png_size"}
    if unknown:
        raise ExportParamsError(f"unknown release parameter(s): {sorted(unknown)}")
    fmt = params.get("image_format", ImageFormat.DICOM)
    if fmt not in ImageFormat.values:
        raise ExportParamsError(f"image_format must be one of {ImageFormat.values}")
    out: dict[str, Any] = {"image_format": fmt, "split": None, "png_size": None}
    if fmt == ImageFormat.PNG:
        size = params.get("png_size", DEFAULT_PNG_SIZE)
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or not (PNG_SIZES[0] <= size <= PNG_SIZES[1])
        ):
            raise ExportParamsError(
                f"png_size must be an integer in {PNG_SIZES[0]}..{PNG_SIZES[1]}"
            )
        out["png_size"] = size
    split = params.get("split")
    if split is not None:
        if not isinstance(split, int) or isinstance(split, bool):
            raise ExportParamsError("split must be a split id")
        if not Split.objects.filter(pk=split, dataset_id=study.dataset_id).exists():
            raise ExportParamsError(f"no split {split} of this study's dataset")
        out["split"] = split
    return out


# ---------------------------------------------------------------- snapshot


def _labels(study: ReaderStudy, subsets: dict[int, str]) -> tuple[list[str], list[list]]:
    """labels.csv as columns + rows: MOS of scores, majority labels of binary / categories."""
    tables = dimension_tables(study)
    columns = ["image", "split", "patient_key", "path"]
    for t in tables:
        k = t.dimension.key
        if t.dimension.kind == DimensionKind.SCORE:
            columns += [f"{k}_mos", f"{k}_n", f"{k}_sd", f"{k}_median", f"{k}_ci95_low"]
            columns += [f"{k}_ci95_high"]
        else:
            columns += [f"{k}_majority", f"{k}_votes", f"{k}_n", f"{k}_tied"]
    images = {
        pk: (label or str(pk), patient)
        for pk, label, patient in Image.objects.filter(study_images__study=study).values_list(
            "pk", "label", "patient_key"
        )
    }
    rows = []
    image_ids = tables[0].image_ids if tables else sorted(images)
    for i, pk in enumerate(image_ids):
        name, patient = images[pk]
        row: list[Any] = [name, subsets.get(pk, ""), patient, f"images/{_safe(name)}/"]
        for t in tables:
            if t.dimension.kind == DimensionKind.SCORE:
                row += [number(t.mean[i]), int(t.n[i]), number(t.sd[i]), number(t.median[i])]
                row += [number(t.ci_low[i]), number(t.ci_high[i])]
            else:
                row += [t.majority[i], int(t.votes[i]), int(t.n[i]), bool(t.tied[i])]
        rows.append(row)
    return columns, rows


def _safe(name: str) -> str:
    """An image label as a path component (labels are neutral, but never trust a path)."""
    return slugify(name) or "image"


def _deidentification(study: ReaderStudy) -> dict[str, str]:
    first = ImageFile.objects.filter(image__study_images__study=study).order_by("pk").first()
    if first is None:
        return {}
    try:
        ds = pydicom.dcmread(Path(settings.MEDIA_ROOT) / first.file.name, stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError):
        return {}
    return {
        "PatientIdentityRemoved": str(ds.get("PatientIdentityRemoved", "")),
        "DeidentificationMethod": str(ds.get("DeidentificationMethod", "")),
    }


def _agreement_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers the data card shows per dimension (the full report is agreement.json)."""
    out = {}
    for key, section in report.get("dimensions", {}).items():
        icc = (section.get("icc") or {}).get("ICC2") or {}
        reml = (section.get("icc_reml") or {}).get("ICC2") or {}
        out[key] = {
            "n_images": section.get("n_images"),
            "n_raters": section.get("n_raters"),
            "icc_2_1": icc.get("value"),
            "icc_2_1_ci95": icc.get("ci95"),
            "icc_2_1_n_images": (section.get("icc") or {}).get("n_images_used"),
            "icc_2_1_reml": reml.get("value"),
            "icc_2_1_reml_ci95": reml.get("ci95"),
            "krippendorff_alpha": section.get("krippendorff_alpha"),
            "fleiss_kappa": section.get("fleiss_kappa"),
        }
    return out


def _icc_text(value: float | None, ci95: list | None) -> str:
    text = "-" if value is None else f"{value:.3f}"
    if value is not None and ci95 and None not in ci95:
        text += " [{:.3f}, {:.3f}]".format(*ci95)
    return text


def make_snapshot(
    study: ReaderStudy, split: Split | None, image_format: str, png_size: int | None
) -> dict[str, Any]:
    """Everything a release's zip is built from, except the (immutable) image files."""
    from .agreement import study_agreement_report

    subsets = split_subsets(split) if split else {}
    columns, rows = _labels(study, subsets)
    files: dict[str, list[dict[str, Any]]] = {}
    image_names = {row[0] for row in rows}
    for pk, label, file_pk, name, sha in (
        ImageFile.objects.filter(image__study_images__study=study)
        .order_by("image_id", "position", "instance_number", "pk")
        .values_list("image_id", "image__label", "pk", "file", "sha256")
    ):
        key = label or str(pk)
        if key in image_names:
            files.setdefault(key, []).append({"id": file_pk, "file": name, "sha256": sha})
    raters = rater_names(study)
    professions: dict[str, int] = {}
    for _pseudonym, profession in raters.values():
        professions[profession or "unknown"] = professions.get(profession or "unknown", 0) + 1
    report = study_agreement_report(study)
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "created_at": timezone.now().isoformat(),
        "study": {"name": study.name, "instructions": study.instructions},
        "dimensions": [
            {
                "key": d.key,
                "label": d.label,
                "kind": d.kind,
                "min_value": d.min_value,
                "max_value": d.max_value,
                "categories": d.categories,
                "criteria": d.criteria,
            }
            for d in study.dimensions.order_by("order", "pk")
        ],
        "raters": {
            "n": len(raters),
            "pseudonyms": sorted(p for p, _ in raters.values()),
            "by_profession": dict(sorted(professions.items())),
        },
        "n_ratings": sum((s.get("n_images") or 0) for s in report.get("dimensions", {}).values()),
        "split": None
        if split is None
        else {
            "id": split.pk,
            "seed": split.seed,
            "ratios": list(split.ratios),
            "stratify_by": split.stratify_by,
            "dimension": split.stratify_dimension,
            "n_bins": split.n_bins,
            "summary": split.summary,
        },
        "image_format": image_format,
        "png_size": png_size,
        "deidentification": _deidentification(study),
        "tie_rule": TIE_RULE,
        "labels": {"columns": columns, "rows": rows},
        "files": files,
        "agreement_summary": _agreement_summary(report),
        "agreement": report,
        # audit.csv holds the study's trail up to here (events are append-only). An event whose
        # transaction took an id below this one and commits only after the zip is first built
        # would change a rebuild's bytes; build_zip refuses that rather than change a release.
        "audit_through": audit.last_event_id(study),
    }


def create_release(
    study: ReaderStudy,
    split: Split | None = None,
    image_format: str = ImageFormat.DICOM,
    png_size: int | None = None,
    user=None,
) -> DatasetRelease:
    """Freeze the study's current labels as its next release version (the zip comes later)."""
    snapshot = make_snapshot(study, split, image_format, png_size)
    with transaction.atomic():
        # The study row's lock serialises version numbers between concurrent releases.
        ReaderStudy.objects.select_for_update().filter(pk=study.pk).first()
        last = DatasetRelease.objects.filter(study=study).aggregate(v=Max("version"))["v"]
        release = DatasetRelease.objects.create(
            study=study,
            version=(last or 0) + 1,
            split=split,
            image_format=image_format,
            png_size=png_size,
            snapshot=snapshot,
            created_by=user,
        )
        audit.record(
            AuditAction.RELEASE_FROZEN,
            actor=user,
            study=study,
            object_type="release",
            object_id=release.pk,
            details={
                "version": release.version,
                "split": split.pk if split else None,
                "image_format": image_format,
                "png_size": png_size,
            },
        )
        return release


def preview_data_card(
    study: ReaderStudy,
    split: Split | None = None,
    image_format: str = ImageFormat.DICOM,
    png_size: int | None = None,
) -> str:
    """The data card the next release would carry if frozen now (nothing is stored)."""
    last = DatasetRelease.objects.filter(study=study).aggregate(v=Max("version"))["v"]
    unsaved = DatasetRelease(
        study=study,
        version=(last or 0) + 1,
        split=split,
        image_format=image_format,
        png_size=png_size,
        snapshot=make_snapshot(study, split, image_format, png_size),
    )
    return data_card(unsaved)


# ---------------------------------------------------------------- zip


def release_name(release: DatasetRelease) -> str:
    return f"{slugify(release.snapshot['study']['name']) or 'study'}-v{release.version}"


def data_card(release: DatasetRelease) -> str:
    """README.md: the study, raters, labels, agreement, split and de-identification."""
    s = release.snapshot
    lines = [
        f"# {s['study']['name']} - dataset release v{release.version}",
        "",
        f"Frozen on {s['created_at']} from the submitted ratings of the reader study. Later",
        "ratings are not in this release; they make a new version.",
        "",
        "## Study",
        "",
        s["study"]["instructions"] or "(no instructions recorded)",
        "",
        "## Dimensions rated",
        "",
    ]
    for d in s["dimensions"]:
        if d["kind"] == DimensionKind.SCORE:
            scale = f"score {d['min_value']}-{d['max_value']}"
        elif d["kind"] == DimensionKind.BINARY:
            scale = "binary: 0 non-acceptable, 1 acceptable"
        else:
            scale = "categories: " + ", ".join(f"{i} {c}" for i, c in enumerate(d["categories"]))
        lines.append(f"- `{d['key']}` ({d['label']}): {scale}. {d['criteria']}".rstrip())
    r = s["raters"]
    by = ", ".join(f"{n} {p}" for p, n in sorted(r["by_profession"].items())) or "none"
    lines += [
        "",
        "## Raters",
        "",
        f"{r['n']} raters ({by}), named by pseudonym only: {', '.join(r['pseudonyms'])}.",
        "",
        "## Labels (labels.csv)",
        "",
        "One row per image. Score dimensions: `<key>_mos` is the mean opinion score of the raters'",
        "first readings, with n, SD (ddof 1), median and a t-based 95% CI (empty with fewer than",
        "two ratings). Binary and category dimensions: `<key>_majority` is the majority vote;",
        f"{s['tie_rule']}. `split` is the subset (train / val / test) and `path` the image's",
        "folder. `patient_key` is a keyed pseudonym made at import (not a patient identifier);",
        "it is here so that splits can be kept patient-disjoint.",
        "",
        "## Agreement",
        "",
        "Summary per dimension (the full report is agreement.json):",
        "",
    ]
    summary = s["agreement_summary"]
    # Snapshots made before the REML ICC existed render as they always did (same bytes).
    with_reml = any("icc_2_1_reml" in a for a in summary.values())
    if with_reml:
        lines += [
            "ICC(2,1) is McGraw & Wong's ICC(A,1). The complete-case column uses only the images",
            "every rater rated (F-test interval); the REML column uses every rating (variance",
            "components, approximate interval): report it when raters left gaps.",
            "",
            "| dimension | images | raters | ICC(2,1) complete cases [95% CI] (images) "
            "| ICC(2,1) all ratings, REML [95% CI] | Krippendorff alpha | Fleiss kappa |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
    else:
        lines += [
            "| dimension | images | raters | ICC(2,1) [95% CI] | Krippendorff alpha "
            "| Fleiss kappa |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for key, a in sorted(summary.items()):
        alpha = a["krippendorff_alpha"] or {}
        alpha_text = ", ".join(f"{k} {v:.3f}" for k, v in sorted(alpha.items()) if v is not None)
        cells = [key, a["n_images"], a["n_raters"], _icc_text(a["icc_2_1"], a["icc_2_1_ci95"])]
        if with_reml:
            cells[-1] += f" ({a.get('icc_2_1_n_images')})"
            cells.append(_icc_text(a.get("icc_2_1_reml"), a.get("icc_2_1_reml_ci95")))
        kappa = "-" if a["fleiss_kappa"] is None else f"{a['fleiss_kappa']:.3f}"
        cells += [alpha_text or "-", kappa]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    split = s["split"]
    lines += ["", "## Split", ""]
    if split is None:
        lines.append("No split: the `split` column is empty.")
    else:
        ratios = "/".join(f"{x:.2f}" for x in split["ratios"])
        strat = split["stratify_by"] + (f" on `{split['dimension']}`" if split["dimension"] else "")
        lines += [
            f"Train/val/test ratios {ratios}, seed {split['seed']}, stratified by {strat}, grouped",
            "by patient_key: no patient has images in two subsets.",
            f"Images per subset: {_counts(split['summary'].get('n_images'))}.",
            f"Patients per subset: {_counts(split['summary'].get('n_patients'))}.",
        ]
    deid = s["deidentification"]
    fmt = (
        "the de-identified DICOM files as imported"
        if s["image_format"] == ImageFormat.DICOM
        else f"PNG renderings (8-bit display values, longest side at most {s['png_size']} px)"
    )
    lines += [
        "",
        "## Images and de-identification",
        "",
        f"`images/<image>/` holds {fmt}.",
        "Every file was de-identified at import following DICOM PS3.15 Annex E (Basic",
        "Application Level Confidentiality Profile): names, IDs, dates and institutions removed",
        "or replaced, UIDs replaced with keyed ones.",
        f"PatientIdentityRemoved: {deid.get('PatientIdentityRemoved') or 'not recorded'}; "
        f"method: {deid.get('DeidentificationMethod') or 'not recorded'}.",
        "",
        "## Checksums",
        "",
        "SHA256SUMS lists every other file; check with `sha256sum -c SHA256SUMS`.",
        "",
    ]
    if "audit_through" in s:
        lines += [
            "## Audit trail (audit.csv)",
            "",
            "Every audited action on the study up to this release, oldest first: ratings",
            "submitted and changed (with old and new values), exports, releases, state changes",
            "and training runs. Who acted is named by pseudonym; `system` is the platform itself.",
            "",
        ]
    return "\n".join(lines)


def _counts(counts: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((counts or {}).items())) or "-"


def _labels_csv(release: DatasetRelease) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(release.snapshot["labels"]["columns"])
    for row in release.snapshot["labels"]["rows"]:
        writer.writerow(safe_row(str(v).lower() if isinstance(v, bool) else v for v in row))
    return buffer.getvalue().encode()


def _png_entries(path: Path, size: int) -> Iterator[bytes]:
    from imaging.dicom.pixels import display_frames
    from imaging.dicom.thumbnail import make_thumbnail

    ds = pydicom.dcmread(path)
    frames = display_frames(ds)
    for frame in frames.pixels:
        yield make_thumbnail(
            np.ascontiguousarray(frame),
            max_side=size,
            pixel_aspect=frames.geometry.pixel_aspect,
        ).png


def _entry(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever system built it
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    return info


def write_release_zip(release: DatasetRelease, out, progress: Progress | None = None) -> None:
    """Write the release's zip to a binary file object (same snapshot -> same bytes)."""
    root = release_name(release)
    sums: list[tuple[str, str]] = []
    media = Path(settings.MEDIA_ROOT)

    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:

        def put(name: str, data: bytes, compress: bool = True) -> None:
            archive.writestr(_entry(f"{root}/{name}", compress), data, compresslevel=6)
            sums.append((hashlib.sha256(data).hexdigest(), name))

        snapshot = release.snapshot
        put("README.md", data_card(release).encode())
        put("labels.csv", _labels_csv(release))
        put("agreement.json", json.dumps(snapshot["agreement"], indent=1, sort_keys=True).encode())
        if "audit_through" in snapshot:  # releases frozen before the audit trail have none
            put("audit.csv", audit.audit_csv(release.study, snapshot["audit_through"]))
        files = snapshot["files"]
        for done, image in enumerate(sorted(files), start=1):
            folder = f"images/{_safe(image)}"
            if release.image_format == ImageFormat.PNG:
                n = 0
                for item in files[image]:
                    for png in _png_entries(media / item["file"], release.png_size):
                        n += 1
                        put(f"{folder}/{n:04d}.png", png, compress=False)
            else:
                for n, item in enumerate(files[image], start=1):
                    name = f"{folder}/{n:04d}.dcm"
                    digest = hashlib.sha256()
                    with (
                        open(media / item["file"], "rb") as src,
                        archive.open(_entry(f"{root}/{name}", False), "w") as dst,
                    ):
                        while block := src.read(1 << 20):
                            digest.update(block)
                            dst.write(block)
                    if item["sha256"] and digest.hexdigest() != item["sha256"]:
                        raise OSError(f"{item['file']} changed since import (checksum differs)")
                    sums.append((digest.hexdigest(), name))
            if progress:
                progress(done / len(files))
        listing = "".join(f"{digest}  {name}\n" for digest, name in sums)
        archive.writestr(_entry(f"{root}/SHA256SUMS", True), listing.encode(), compresslevel=6)


def release_zip_path(release: DatasetRelease) -> Path:
    return (
        Path(settings.MEDIA_ROOT)
        / "releases"
        / str(release.study_id)
        / f"{release_name(release)}.zip"
    )


def partial_zip_path(release: DatasetRelease) -> Path:
    """Where the zip is written before it is complete (renamed to release_zip_path then)."""
    final = release_zip_path(release)
    return final.with_name(f".{final.name}.part")


def build_zip(release: DatasetRelease, progress: Progress | None = None) -> DatasetRelease:
    """Build (or rebuild) the release's zip file and record its size and SHA-256."""
    # Always from the stored snapshot (as the database returns it), never from a dict in
    # memory whose key order could differ: the bytes depend on the stored release alone.
    release = DatasetRelease.objects.get(pk=release.pk)
    final = release_zip_path(release)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_zip_path(release)
    try:
        with open(partial, "wb") as out:
            write_release_zip(release, out, progress)
    except BaseException:  # a full disk, a time limit: no half zip stays
        partial.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with open(partial, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    if release.sha256 and digest.hexdigest() != release.sha256:
        partial.unlink()
        raise OSError(f"rebuilding release v{release.version} gave different bytes")
    os.replace(partial, final)
    release.zip_path = str(final.relative_to(settings.MEDIA_ROOT))
    release.size_bytes = final.stat().st_size
    release.sha256 = digest.hexdigest()
    release.save(update_fields=["zip_path", "size_bytes", "sha256"])
    return release


def ensure_zip(
    release: DatasetRelease, progress: Progress | None = None
) -> tuple[DatasetRelease, Path]:
    """The release and its zip on disk, rebuilt from its snapshot if the file went missing."""
    path = Path(settings.MEDIA_ROOT) / release.zip_path if release.zip_path else None
    if path is None or not path.is_file():
        release = build_zip(release, progress)
        path = Path(settings.MEDIA_ROOT) / release.zip_path
    return release, path


def build_release_for_job(job: ExportJob, progress: Progress) -> ExportFile:
    """The release export: freeze a new version once per job, then build its zip."""
    if job.release_id is None:
        split = Split.objects.filter(pk=job.params.get("split")).first()
        release = create_release(
            job.study,
            split,
            job.params.get("image_format", ImageFormat.DICOM),
            job.params.get("png_size"),
            job.created_by,
        )
        # A retried job (worker lost) finds its release here and does not freeze another.
        ExportJob.objects.filter(pk=job.pk).update(release=release)
    else:
        release = job.release
    release, path = ensure_zip(release, progress)
    return ExportFile(
        release.zip_path, path.name, "application/zip", path.stat().st_size, release.sha256
    )
