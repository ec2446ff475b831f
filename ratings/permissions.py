"""Who may do what in the ratings app: one table of role x action, and helpers that apply it.

Helpers return the object the user may act on, or raise: Http404 when the user may not even
know it exists, PermissionDenied when they can see it but not do this. List querysets are
filtered here, in the query, never after.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from imaging.models import Dataset, Image

from .models import Membership, ReaderStudy, Role, StudyImage


class Action(StrEnum):
    VIEW_STUDY = "view_study"  # see the study's name, instructions, dimensions
    RATE = "rate"  # read images and submit one's own ratings
    VIEW_RESULTS = "view_results"  # everyone's ratings, MOS, agreement, progress, exports
    MANAGE_STUDY = "manage_study"  # edit the study, its images, dimensions and members
    TRAIN_MODELS = "train_models"  # launch training runs, activate model versions


# The whole policy. Staff may do everything.
ALLOWED_ROLES: dict[Action, frozenset[str]] = {
    Action.VIEW_STUDY: frozenset({Role.RATER, Role.COORDINATOR, Role.RESEARCHER}),
    Action.RATE: frozenset({Role.RATER}),
    Action.VIEW_RESULTS: frozenset({Role.COORDINATOR, Role.RESEARCHER}),
    Action.MANAGE_STUDY: frozenset({Role.COORDINATOR}),
    Action.TRAIN_MODELS: frozenset({Role.RESEARCHER}),
}


class StudyClosed(PermissionDenied):
    """A rater (or staff) may not rate here only because the study is closed or archived."""

    code = "study_closed"

    def __init__(self, study: ReaderStudy):
        super().__init__(
            f"{study.name} is {study.state}: it takes no new or changed ratings. "
            "Your readings so far are kept."
        )


def roles_in(user, study: ReaderStudy) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user, study=study).values_list("role", flat=True))


def can(user, study: ReaderStudy, action: Action) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if action == Action.RATE and not study.is_open:
        return False  # a closed study takes no ratings, from anybody
    if user.is_staff:
        return True
    return bool(roles_in(user, study) & ALLOWED_ROLES[action])


def studies_for(user, action: Action = Action.VIEW_STUDY) -> QuerySet[ReaderStudy]:
    """The studies on which the user may perform `action`."""
    if not user.is_authenticated or not user.is_active:
        return ReaderStudy.objects.none()
    if user.is_staff:
        studies = ReaderStudy.objects.all()
    else:
        allowed = Membership.objects.filter(
            study=OuterRef("pk"), user=user, role__in=ALLOWED_ROLES[action]
        )
        studies = ReaderStudy.objects.filter(Exists(allowed))
    if action == Action.RATE:
        studies = studies.filter(is_open=True)
    return studies


def get_study(user, pk, action: Action) -> ReaderStudy:
    """The study if the user may perform `action` on it; 404 if they may not see it at all."""
    try:
        study = studies_for(user, Action.VIEW_STUDY).get(pk=pk)
    except (ReaderStudy.DoesNotExist, ValueError, TypeError):
        raise Http404("No such study.") from None
    if not can(user, study, action):
        if (
            action == Action.RATE
            and not study.is_open
            and (user.is_staff or Role.RATER in roles_in(user, study))
        ):
            raise StudyClosed(study)
        raise PermissionDenied(f"You may not {action.value.replace('_', ' ')} in this study.")
    return study


def images_for(user) -> QuerySet[Image]:
    """Images the user may load: those of a study they rate, coordinate or research."""
    if not user.is_authenticated or not user.is_active:
        return Image.objects.none()
    if user.is_staff:
        return Image.objects.all()
    in_my_study = StudyImage.objects.filter(
        image=OuterRef("pk"), study__in=studies_for(user, Action.VIEW_STUDY)
    )
    # Who manages a dataset sees all its images, also those in no study yet (the dataset page).
    return Image.objects.filter(Exists(in_my_study) | Q(dataset__in=datasets_for(user)))


def datasets_for(user) -> QuerySet[Dataset]:
    """Datasets the user may upload to and manage: staff, the creator, or a study coordinator."""
    if not user.is_authenticated or not user.is_active:
        return Dataset.objects.none()
    if user.is_staff:
        return Dataset.objects.all()
    coordinated = Membership.objects.filter(
        study__dataset=OuterRef("pk"), user=user, role=Role.COORDINATOR
    )
    return Dataset.objects.filter(Q(created_by=user) | Exists(coordinated))


def may_see_subject_fields(user, dataset: Dataset) -> bool:
    """Whether dataset-level views may show the subject fields (patient key, site, sex, age).

    Raters are blind to them. Someone who rates any study on a dataset and coordinates
    another (or created the dataset) manages it, but would see, by this other door, the
    fields of images they rate blind; so the fields are hidden from anyone who rates on the
    dataset, whatever else they are. Staff see them.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return not Membership.objects.filter(
        user=user, study__dataset=dataset, role=Role.RATER
    ).exists()


# Members of this group may create datasets (and upload to them) and set up reader studies.
# An administrator adds coordinators to it in the admin; the demo's coordinator is in it.
STUDY_MANAGERS = "Study managers"


def is_study_manager(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_staff or user.groups.filter(name=STUDY_MANAGERS).exists())
    )


def may_create_dataset(user) -> bool:
    """Study managers (the group), staff, or users granted imaging.add_dataset."""
    return is_study_manager(user) or bool(
        user.is_authenticated and user.is_active and user.has_perm("imaging.add_dataset")
    )


def may_create_study(user) -> bool:
    """Study managers (the group), staff, or users granted ratings.add_readerstudy."""
    return is_study_manager(user) or bool(
        user.is_authenticated and user.is_active and user.has_perm("ratings.add_readerstudy")
    )


class ImagingAccess:
    """The imaging app's access policy (settings.IMAGING_ACCESS_POLICY): reader studies decide."""

    datasets_for = staticmethod(datasets_for)
    images_for = staticmethod(images_for)
    may_see_subject_fields = staticmethod(may_see_subject_fields)
    may_create_dataset = staticmethod(may_create_dataset)
