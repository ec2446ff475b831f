"""Builders for test data: named people, datasets with images, a study with its dimensions."""

import itertools
from types import SimpleNamespace

from demo.seeding import chest_paper_dimensions
from imaging.models import Dataset, Image, ImageFile
from ratings.models import Membership, RaterProfile, ReaderStudy, Role, StudyImage

names = SimpleNamespace(
    RATER="alice",
    RATER2="bob",
    COORDINATOR="carol",
    RESEARCHER="dave",
    OUTSIDER="eve",
    STAFF="sam",
)
names.ALL = [
    names.RATER,
    names.RATER2,
    names.COORDINATOR,
    names.RESEARCHER,
    names.OUTSIDER,
    names.STAFF,
]

_counter = itertools.count(1)


def make_dataset(name: str | None = None, n_images: int = 3, **image_fields) -> Dataset:
    dataset = Dataset.objects.create(name=name or f"dataset-{next(_counter)}")
    for _ in range(n_images):
        make_image(dataset, **image_fields)
    return dataset


def make_image(dataset: Dataset, **fields) -> Image:
    n = next(_counter)
    fields.setdefault("label", f"IMG-{n:06d}")
    fields.setdefault("patient_key", f"patient-{n}")
    fields.setdefault("modality", "DX")
    return Image.objects.create(dataset=dataset, series_uid=f"2.25.{n}", **fields)


def make_image_file(image: Image, file_name: str = "x.dcm", **fields) -> ImageFile:
    n = next(_counter)
    fields.setdefault("sop_instance_uid", f"2.25.9{n}")
    fields.setdefault("source_uid_hash", f"hash-{n}")
    fields.setdefault("transfer_syntax", "1.2.840.10008.1.2.1")
    fields.setdefault("sha256", "0" * 64)
    return ImageFile.objects.create(image=image, dataset=image.dataset, file=file_name, **fields)


def make_study(people: dict, n_images: int = 3, name: str | None = None) -> ReaderStudy:
    dataset = make_dataset(n_images=n_images)
    study = ReaderStudy.objects.create(name=name or f"study-{next(_counter)}", dataset=dataset)
    for image in dataset.images.all():
        StudyImage.objects.create(study=study, image=image)
    chest_paper_dimensions(study)
    roles = {
        names.RATER: Role.RATER,
        names.RATER2: Role.RATER,
        names.COORDINATOR: Role.COORDINATOR,
        names.RESEARCHER: Role.RESEARCHER,
    }
    for username, role in roles.items():
        user = people[username]
        Membership.objects.create(user=user, study=study, role=role)
        if role == Role.RATER:
            RaterProfile.objects.get_or_create(
                user=user, defaults={"pseudonym": f"R-{user.username}"}
            )
    return study


def rate(study: ReaderStudy, rater, image: Image, values: dict[str, int], **fields):
    """A submitted reading of `image` by `rater` with one rating per dimension key in `values`."""
    from ratings.models import Assessment, AssessmentStatus, Rating

    fields.setdefault("status", AssessmentStatus.SUBMITTED)
    assessment = Assessment.objects.create(study=study, image=image, rater=rater, **fields)
    dims = {d.key: d for d in study.dimensions.all()}
    Rating.objects.bulk_create(
        Rating(assessment=assessment, dimension=dims[key], value=value)
        for key, value in values.items()
    )
    return assessment
