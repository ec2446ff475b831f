"""Who may see which dataset, image and file: asked of a policy that the settings name.

Access to images depends on reader studies (a rater sees the images of the studies they
rate), which live in the ratings app; imaging must not import ratings, so the policy is
plugged in by `settings.IMAGING_ACCESS_POLICY`, as Django plugs in authentication backends.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.module_loading import import_string

from imaging.models import Dataset, Image, ImageFile


class AccessPolicy(Protocol):
    def datasets_for(self, user) -> QuerySet[Dataset]:
        """Datasets the user may upload to and manage."""

    def images_for(self, user) -> QuerySet[Image]:
        """Images whose files the user may load."""

    def may_see_subject_fields(self, user, dataset: Dataset) -> bool:
        """Whether dataset views may show patient key, site, sex and age band to the user."""

    def may_create_dataset(self, user) -> bool: ...


@cache
def policy() -> AccessPolicy:
    return import_string(settings.IMAGING_ACCESS_POLICY)()


def get_dataset(user, pk) -> Dataset:
    try:
        return policy().datasets_for(user).get(pk=pk)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise Http404("No such dataset.") from None


def get_image_file(user, sop_instance_uid: str) -> ImageFile:
    """The de-identified file if the user may load it; 404 if unknown, 403 if not theirs."""
    try:
        image_file = ImageFile.objects.select_related("image").get(
            sop_instance_uid=sop_instance_uid
        )
    except ImageFile.DoesNotExist:
        raise Http404("No such image.") from None
    if not policy().images_for(user).filter(pk=image_file.image_id).exists():
        raise PermissionDenied("You may not load this image.")
    return image_file
