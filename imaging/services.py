"""The doors other apps (the model half) use into imaging: an image's de-identified files.

Decoding and preprocessing for models is inference/preprocess.py's one function."""

from __future__ import annotations

from pathlib import Path

from imaging.models import Image, ImageFile


def image_file_paths(image_id: int) -> list[Path]:
    """The image's de-identified DICOM files on disk, in stack order."""
    files = ImageFile.objects.filter(image_id=image_id).order_by(
        "position", "instance_number", "id"
    )
    return [Path(f.file.path) for f in files]


def representative_files(image_ids) -> dict[int, Path]:
    """For each image, the file a 2-D model reads: the middle one of a stack (the only one of
    a radiograph); one query for all of them. An image with no file is left out."""
    stacks: dict[int, list[Path]] = {}
    files = ImageFile.objects.filter(image_id__in=list(image_ids)).order_by(
        "image_id", "position", "instance_number", "id"
    )
    for f in files.only("id", "image_id", "file"):
        stacks.setdefault(f.image_id, []).append(Path(f.file.path))
    return {image_id: paths[len(paths) // 2] for image_id, paths in stacks.items()}


def representative_file(image_id: int) -> Path:
    """representative_files for one image; raises Image.DoesNotExist if it has no file."""
    found = representative_files([image_id]).get(image_id)
    if found is None:
        raise Image.DoesNotExist(f"image {image_id} has no file")
    return found


def wado_image_ids(image: Image) -> list[str]:
    """cornerstone image ids (WADO-URI, one per slice or frame) of an image, in stack order."""
    from urllib.parse import quote

    from django.urls import reverse

    base = reverse("wado-uri")
    ids = []
    for f in image.files.order_by("position", "instance_number", "id"):
        url = f"{base}?requestType=WADO&objectUID={quote(f.sop_instance_uid, safe='.')}"
        if f.n_frames > 1:
            ids.extend(f"wadouri:{url}&frame={i}" for i in range(f.n_frames))
        else:
            ids.append(f"wadouri:{url}")
    return ids
