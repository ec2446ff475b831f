"""A whole reader study from one definition (JSON): `create_study` and POST /api/v1/studies/.

The definition is checked in full before anything is written, and every problem is reported
at once, keyed by where it is (`name`, `dimensions[1].max`, `raters`...): a researcher fixes
the file once rather than once per problem. The checks are the setup pages' own - the model's
field validation and `studysetup` (image choice, a dimension's scale, members) - so a study
made here could have been made there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from imaging.models import Dataset

from .models import Dimension, DimensionKind, ReaderStudy, Role
from .studysetup import (
    ImagePick,
    SetupError,
    add_members,
    create_study,
    dimension_scale,
    pick_images,
    repeat_fraction_problem,
    set_images,
)

ROLES = {"raters": Role.RATER, "coordinators": Role.COORDINATOR, "researchers": Role.RESEARCHER}
# Study settings a definition may give; the rest keep the model's defaults, as on the page.
SETTINGS = (
    "instructions",
    "min_view_ms",
    "idle_threshold_ms",
    "repeat_fraction",
    "order_seed",
    "show_model_output",
    "is_open",
)
TOP_LEVEL = {"name", "dataset", "images", "dimensions", *ROLES, *SETTINGS}
DIMENSION_KEYS = {"key", "label", "kind", "min", "max", "categories", "criteria"}
# The definition says min / max where the model says min_value / max_value.
DIMENSION_FIELD = {"min_value": "min", "max_value": "max"}


class DefinitionRejected(Exception):
    """The definition has problems; nothing was created. `problems` maps a place to messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = dict(problems)
        n = sum(len(v) for v in problems.values())
        super().__init__(f"{n} problem(s) in the study definition; nothing was created")

    def lines(self) -> list[str]:
        return [f"{where}: {message}" for where, msgs in self.problems.items() for message in msgs]


@dataclass
class _Checked:
    settings: dict[str, Any] = field(default_factory=dict)
    dataset: Dataset | None = None
    image_ids: list[int] = field(default_factory=list)
    dimensions: list[Dimension] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)


class _Problems(defaultdict):
    def __init__(self) -> None:
        super().__init__(list)

    def add(self, where: str, message: str) -> None:
        self[where].append(message)

    def add_validation(self, error: ValidationError, prefix: str = "", rename=None) -> None:
        for name, messages in error.message_dict.items():
            where = prefix + (rename or {}).get(name, name) if name != "__all__" else prefix
            for message in messages:
                self.add(where.rstrip(".") or "definition", message)


def create_from_definition(
    definition: Any, *, creator=None, datasets: QuerySet[Dataset] | None = None
) -> ReaderStudy:
    """Create the study, its images, dimensions and members; DefinitionRejected lists every
    problem. `datasets` are those the creator may use (all of them on the command line).

    Unknown usernames become accounts with an unusable password: names in the data that
    cannot log in until an administrator gives them a password (as `import_ratings` does).
    """
    checked = check_definition(definition, Dataset.objects.all() if datasets is None else datasets)
    try:
        with transaction.atomic():
            study = create_study(creator, dataset=checked.dataset, **checked.settings)
            set_images(study, checked.image_ids, replace=False)
            for dimension in checked.dimensions:
                dimension.study = study
                dimension.save()
            for key, role in ROLES.items():
                add_members(study, _users(checked.members[key]), role)
    except IntegrityError:
        # Another study may have taken the name between the check and the insert.
        if not ReaderStudy.objects.filter(name=checked.settings["name"]).exists():
            raise
        raise DefinitionRejected({"name": ["A reader study with this name exists."]}) from None
    return study


def check_definition(definition: Any, datasets: QuerySet[Dataset]) -> _Checked:
    """Every problem of the definition at once (DefinitionRejected), or what to create."""
    problems = _Problems()
    if not isinstance(definition, dict):
        raise DefinitionRejected({"definition": ["must be a JSON object"]})
    for unknown in sorted(set(definition) - TOP_LEVEL):
        problems.add(unknown, f"unknown field (known: {', '.join(sorted(TOP_LEVEL))})")
    checked = _Checked()
    checked.dataset = _dataset(definition.get("dataset"), datasets, problems)
    checked.settings = _settings(definition, checked.dataset, problems)
    if checked.dataset is not None:
        checked.image_ids = _images(definition.get("images", "all"), checked.dataset, problems)
    checked.dimensions = _dimensions(definition.get("dimensions"), problems)
    for key in ROLES:
        checked.members[key] = _usernames(definition.get(key, []), key, problems)
    if problems:
        raise DefinitionRejected(problems)
    return checked


def _dataset(value: Any, datasets: QuerySet[Dataset], problems: _Problems) -> Dataset | None:
    if value in (None, ""):
        problems.add("dataset", "Give the name of the dataset whose images are rated.")
        return None
    found = datasets.filter(name=str(value)).first()
    if found is None and isinstance(value, int):
        found = datasets.filter(pk=value).first()
    if found is None:
        known = ", ".join(datasets.values_list("name", flat=True)[:20]) or "none"
        problems.add("dataset", f"No dataset {value!r} (datasets: {known}).")
    return found


def _settings(definition: dict, dataset: Dataset | None, problems: _Problems) -> dict:
    """Name and settings, checked by the model's own validation (as the settings page does)."""
    settings = {"name": definition.get("name") or ""}
    settings.update({k: definition[k] for k in SETTINGS if k in definition})
    study = ReaderStudy(dataset=dataset, **settings)
    try:
        # The one constraint (repeat fraction in 0..1) is checked below with a readable message.
        study.full_clean(exclude=["dataset"], validate_constraints=False)
    except ValidationError as error:
        problems.add_validation(error)
    share = study.repeat_fraction
    if isinstance(share, int | float) and (problem := repeat_fraction_problem(share)):
        problems.add("repeat_fraction", problem)
    # The values as the model cleaned them ("1500" -> 1500), as a form would hand them on.
    return {key: getattr(study, key) for key in settings}


def _images(value: Any, dataset: Dataset, problems: _Problems) -> list[int]:
    if value == "all":
        how, labels = ImagePick.ALL, []
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        how, labels = ImagePick.LABELS, value
    else:
        problems.add("images", 'Give "all" or a list of image labels.')
        return []
    try:
        return pick_images(dataset, how, labels=labels)
    except SetupError as error:
        problems.add("images", str(error))
        return []


def _dimensions(value: Any, problems: _Problems) -> list[Dimension]:
    if not isinstance(value, list) or not value:
        problems.add("dimensions", "Give a list of at least one dimension.")
        return []
    dimensions, first_with_key = [], {}
    for i, item in enumerate(value):
        where = f"dimensions[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be an object with key, label, kind...")
            continue
        for unknown in sorted(set(item) - DIMENSION_KEYS):
            problems.add(f"{where}.{unknown}", "unknown field")
        key = item.get("key")
        if isinstance(key, str) and key in first_with_key:
            problems.add(f"{where}.key", f"{key!r} is the key of {first_with_key[key]} too.")
        elif isinstance(key, str):
            first_with_key[key] = where
        dimensions.append(_dimension(item, i, where, problems))
    return dimensions


def _dimension(item: dict, order: int, where: str, problems: _Problems) -> Dimension:
    kind = item.get("kind", DimensionKind.SCORE)
    categories = item.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        problems.add(f"{where}.categories", "Give a list of category labels, lowest first.")
        categories = []
    low, high = item.get("min"), item.get("max")
    for name, number in (("min", low), ("max", high)):
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            problems.add(f"{where}.{name}", f"{number!r} is not a whole number.")
    dimension = Dimension(
        key=item.get("key") or "",
        label=item.get("label") or "",
        kind=kind,
        criteria=item.get("criteria") or "",
        order=order,
    )
    if kind in DimensionKind.values:
        scale = dimension_scale(
            kind,
            low if isinstance(low, int) else None,
            high if isinstance(high, int) else None,
            categories,
        )
        for name, problem in scale.problems.items():
            problems.add(f"{where}.{DIMENSION_FIELD.get(name, name)}", problem)
        dimension.min_value = scale.min_value if scale.min_value is not None else 0
        dimension.max_value = scale.max_value if scale.max_value is not None else 0
        dimension.categories = scale.categories
    try:
        dimension.full_clean(exclude=["study"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        problems.add_validation(error, prefix=f"{where}.", rename=DIMENSION_FIELD)
    return dimension


def _usernames(value: Any, where: str, problems: _Problems) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.add(where, "Give a list of usernames.")
        return []
    User = get_user_model()
    inactive = User.objects.filter(username__in=value, is_active=False)
    for name in inactive.values_list("username", flat=True):
        problems.add(where, f"User {name!r} is not active.")
    for name in value:
        try:
            User.username_validator(name)
            if len(name) > User._meta.get_field("username").max_length:
                raise ValidationError("too long")
        except ValidationError:
            problems.add(where, f"{name!r} cannot be a username.")
    return list(dict.fromkeys(value))


def _users(names: list[str]) -> list:
    """The users by name, new ones created without a usable password."""
    User = get_user_model()
    found = {u.get_username(): u for u in User.objects.filter(username__in=names)}
    for name in names:
        if name not in found:
            user = User(username=name)
            user.set_unusable_password()
            user.save()
            found[name] = user
    return [found[name] for name in names]
