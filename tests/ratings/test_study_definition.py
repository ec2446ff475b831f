"""A study from a definition: every problem listed and nothing made; the API answers the same."""

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ratings.models import Membership, ReaderStudy, Role
from tests.factories import make_dataset, names

pytestmark = pytest.mark.django_db


def definition(dataset: str, **changes) -> dict:
    good = {
        "name": "Defined study",
        "dataset": dataset,
        "images": "all",
        "dimensions": [
            {"key": "overall", "label": "Overall", "kind": "score", "min": 1, "max": 5},
            {"key": "ok", "label": "Acceptable", "kind": "binary"},
            {
                "key": "grade",
                "label": "Grade",
                "kind": "category",
                "categories": ["non-diagnostic", "diagnostic", "excellent"],
            },
        ],
        "raters": [],
        "coordinators": ["new-coordinator"],
        "researchers": [],
    }
    return {**good, **changes}


def refused(tmp_path, data: dict) -> list[str]:
    """The problem lines create_study prints for a definition it refuses."""
    path = tmp_path / "study.json"
    path.write_text(json.dumps(data))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was created"):
        call_command("create_study", "--definition", str(path), stdout=io.StringIO(), stderr=err)
    assert not ReaderStudy.objects.filter(dimensions__key="overall").exists()
    return err.getvalue().splitlines()


def test_a_good_definition_makes_the_whole_study(tmp_path):
    dataset = make_dataset("scans", n_images=4)
    path = tmp_path / "study.json"
    settings = {"instructions": "Rate the whole image.", "repeat_fraction": 0.1}
    path.write_text(json.dumps(definition(dataset.name, **settings)))
    out = io.StringIO()
    call_command("create_study", "--definition", str(path), stdout=out)
    study = ReaderStudy.objects.get(name="Defined study")
    assert "4 images, 3 dimensions" in out.getvalue()
    assert (study.instructions, study.repeat_fraction) == (settings["instructions"], 0.1)
    grade = study.dimensions.get(key="grade")
    assert (grade.min_value, grade.max_value) == (0, 2)
    coordinator = Membership.objects.get(study=study, role=Role.COORDINATOR).user
    assert coordinator.username == "new-coordinator"
    assert not coordinator.has_usable_password()


def test_three_problems_are_all_listed_each_on_its_own_line(tmp_path):
    make_dataset("scans")
    dims = definition("scans")["dimensions"]
    data = definition(
        "no such scans",
        dimensions=[dims[0], {**dims[1], "key": "overall"}, {**dims[0], "key": "x", "min": 5}],
    )
    lines = refused(tmp_path, data)
    assert lines == [
        "dataset: No dataset 'no such scans' (datasets: scans).",
        "dimensions[1].key: 'overall' is the key of dimensions[0] too.",
        "dimensions[2].max: The highest score must be above the lowest.",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"dataset": "nope"}, "dataset: No dataset 'nope' (datasets: scans)."),
        (
            {"dimensions": [{"key": "a", "label": "A", "kind": "binary"}] * 2},
            "dimensions[1].key: 'a' is the key of dimensions[0] too.",
        ),
        (
            {"dimensions": [{"key": "a", "label": "A", "min": 3, "max": 3}]},
            "dimensions[0].max: The highest score must be above the lowest.",
        ),
        (
            {"dimensions": [{"key": "a", "label": "A", "kind": "category"}]},
            "dimensions[0].categories: Give at least two category labels.",
        ),
        ({"images": ["IMG-NOPE"]}, "images: 1 label(s) not in dataset scans: IMG-NOPE"),
        ({"colour": "blue"}, "colour: unknown field"),
        ({"repeat_fraction": 2}, "repeat_fraction: Give a share between 0 and 1"),
        ({"min_view_ms": "soon"}, "min_view_ms: “soon” value must be an integer."),
        (
            {"dimensions": [{"key": "a b", "label": "A", "kind": "binary"}]},
            "dimensions[0].key: Enter a valid “slug”",
        ),
        ({"raters": "alice"}, "raters: Give a list of usernames."),
    ],
    ids=[
        "unknown dataset",
        "duplicate keys",
        "min >= max",
        "no categories",
        "label",
        "field",
        "share",
        "integer",
        "slug",
        "members",
    ],  # fmt: skip
)
def test_each_bad_definition_is_refused_with_its_reason(tmp_path, change, expected):
    make_dataset("scans")
    lines = refused(tmp_path, {**definition("scans"), **change})
    assert len(lines) == 1
    assert lines[0].startswith(expected)


def test_a_taken_name_is_refused(tmp_path):
    dataset = make_dataset("scans")
    ReaderStudy.objects.create(name="Defined study", dataset=dataset)
    lines = refused(tmp_path, definition("scans"))
    assert lines == ["name: Reader study with this Name already exists."]


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_rater_may_not_post_a_study(study, people):
    answer = api_client(people[names.RATER]).post(
        "/api/v1/studies/", definition(study.dataset.name), format="json"
    )
    assert answer.status_code == 403
    assert not ReaderStudy.objects.filter(name="Defined study").exists()


def test_the_api_makes_the_study_or_answers_400_keyed_by_field(study, people):
    coordinator = people[names.COORDINATOR]
    coordinator.user_permissions.add(Permission.objects.get(codename="add_readerstudy"))
    client = api_client(coordinator)
    other = make_dataset("not theirs")
    bad = definition(
        other.name,
        name="",
        dimensions=[
            {"key": "a", "label": "A", "min": 5, "max": 1},
            {"key": "a", "label": "B", "kind": "binary"},
        ],
    )
    answer = client.post("/api/v1/studies/", bad, format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"name", "dataset", "dimensions[0].max", "dimensions[1].key"}
    # A dataset the user does not manage is as unknown to them as one that does not exist.
    assert body["dataset"] == [f"No dataset 'not theirs' (datasets: {study.dataset.name})."]

    answer = client.post("/api/v1/studies/", definition(study.dataset.name), format="json")
    assert answer.status_code == 201, answer.json()
    made = answer.json()
    assert made["n_images"] == study.dataset.images.count()
    assert [d["key"] for d in made["dimensions"]] == ["overall", "ok", "grade"]
    assert made["my_roles"] == ["coordinator"]


def test_the_api_refuses_a_body_that_is_not_a_json_object(study, people):
    client = api_client(people[names.STAFF])
    answer = client.post("/api/v1/studies/", [1, 2], format="json")
    assert answer.status_code == 400
    assert answer.json() == {"definition": ["must be a JSON object"]}
