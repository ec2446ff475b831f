"""Study setup pages: who may create and edit, image choice, dimensions, members, clear errors."""

import pytest
from django.contrib.auth.models import Permission

from ratings.models import Dimension, DimensionKind, Membership, RaterProfile, ReaderStudy, Role
from tests.factories import make_dataset, make_image, names, rate

pytestmark = pytest.mark.django_db


def management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def dimension_rows(study) -> dict:
    """The POST data of the dimensions page as it is shown, with an empty extra form."""
    data = management("dim", study.dimensions.count() + 1, study.dimensions.count())
    for i, d in enumerate(study.dimensions.all()):
        data.update(
            {
                f"dim-{i}-id": str(d.pk),
                f"dim-{i}-key": d.key,
                f"dim-{i}-label": d.label,
                f"dim-{i}-kind": d.kind,
                f"dim-{i}-min_value": str(d.min_value),
                f"dim-{i}-max_value": str(d.max_value),
                f"dim-{i}-order": str(d.order),
                f"dim-{i}-categories_text": "\n".join(d.categories),
            }
        )
    # The empty form for a new dimension comes back with its initial values, as from a browser.
    n = study.dimensions.count()
    data.update({f"dim-{n}-kind": "score", f"dim-{n}-min_value": "1", f"dim-{n}-max_value": "10"})
    data[f"dim-{n}-order"] = "0"
    return data


@pytest.mark.parametrize(
    ("who", "status"),
    [(names.STAFF, 200), (names.COORDINATOR, 403), (names.RATER, 403)],
)
def test_who_may_open_the_new_study_page(client, people, who, status):
    client.force_login(people[who])
    assert client.get("/studies/new/").status_code == status


def test_add_readerstudy_permission_allows_creating(client, people):
    carol = people[names.COORDINATOR]
    carol.user_permissions.add(Permission.objects.get(codename="add_readerstudy"))
    dataset = make_dataset(n_images=2)
    dataset.created_by = carol
    dataset.save()
    client.force_login(carol)
    response = client.post(
        "/studies/new/",
        {
            "name": "Chest PA 2026",
            "dataset": dataset.pk,
            "min_view_ms": 2000,
            "idle_threshold_ms": 30000,
            "repeat_fraction": 0.1,
            "order_seed": 7,
            "is_open": "on",
        },
    )
    study = ReaderStudy.objects.get(name="Chest PA 2026")
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{study.pk}/setup/images/"
    assert (study.min_view_ms, study.repeat_fraction, study.order_seed) == (2000, 0.1, 7)
    # The creator coordinates the new study, so they can go on setting it up.
    assert Membership.objects.filter(user=carol, study=study, role=Role.COORDINATOR).exists()


def test_bad_settings_are_explained_and_nothing_is_created(client, people):
    client.force_login(people[names.STAFF])
    dataset = make_dataset(n_images=1)
    response = client.post(
        "/studies/new/",
        {"name": "", "dataset": dataset.pk, "repeat_fraction": 1.5, "min_view_ms": -1},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors
    assert "between 0 and 1" in errors["repeat_fraction"][0]
    assert "min_view_ms" in errors
    assert not ReaderStudy.objects.filter(dataset=dataset).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (names.COORDINATOR, 200),
        (names.STAFF, 200),
        (names.RESEARCHER, 403),
        (names.RATER, 403),
        (names.OUTSIDER, 404),
    ],
)
@pytest.mark.parametrize("page", ["", "images/", "dimensions/", "members/"])
def test_who_may_edit_a_study(client, study, people, who, status, page):
    client.force_login(people[who])
    assert client.get(f"/studies/{study.pk}/setup/{page}").status_code == status


def test_pick_images_by_modality_sample_and_labels(client, study, people):
    dataset = study.dataset
    mr = [make_image(dataset, modality="MR") for _ in range(4)]
    client.force_login(people[names.COORDINATOR])
    page = f"/studies/{study.pk}/setup/images/"

    client.post(page, {"how": "modality", "modality": "MR", "replace": "on"})
    assert set(study.images.values_list("pk", flat=True)) == {i.pk for i in mr}

    client.post(page, {"how": "sample", "sample_size": 2, "sample_seed": 3, "replace": "on"})
    first = set(study.images.values_list("pk", flat=True))
    client.post(page, {"how": "sample", "sample_size": 2, "sample_seed": 3, "replace": "on"})
    assert len(first) == 2
    assert set(study.images.values_list("pk", flat=True)) == first  # same seed, same images

    client.post(page, {"how": "labels", "labels": f"{mr[0].label}, {mr[1].label}"})
    assert {mr[0].pk, mr[1].pk} <= set(study.images.values_list("pk", flat=True))


def test_image_choice_errors_are_clear_and_change_nothing(client, study, people):
    client.force_login(people[names.COORDINATOR])
    page = f"/studies/{study.pk}/setup/images/"
    before = set(study.images.values_list("pk", flat=True))

    response = client.post(page, {"how": "labels", "labels": "IMG-NOPE\nIMG-NEITHER"})
    assert "2 label(s) not in dataset" in response.content.decode()
    response = client.post(page, {"how": "sample", "sample_size": 500})
    assert "Cannot draw 500 images: the dataset has 3." in response.content.decode()
    response = client.post(page, {"how": "sample"})
    assert "Give the number of images to draw." in response.content.decode()
    assert set(study.images.values_list("pk", flat=True)) == before


def test_replacing_never_drops_images_with_readings(client, study, people):
    rated = study.images.order_by("pk").first()
    rate(study, people[names.RATER], rated, {"gray-level": 5})
    other = make_image(study.dataset, modality="CT")
    client.force_login(people[names.COORDINATOR])
    response = client.post(
        f"/studies/{study.pk}/setup/images/",
        {"how": "labels", "labels": other.label, "replace": "on"},
    )
    assert "already have readings" in response.content.decode()
    assert study.images.filter(pk=rated.pk).exists()
    assert not study.images.filter(pk=other.pk).exists()


def test_define_a_category_dimension_limited_to_a_rater(client, study, people):
    client.force_login(people[names.COORDINATOR])
    data = dimension_rows(study)
    n = study.dimensions.count()
    image = study.images.order_by("pk").first()
    data.update(
        {
            f"dim-{n}-key": "diagnostic",
            f"dim-{n}-label": "Diagnostic quality",
            f"dim-{n}-kind": DimensionKind.CATEGORY,
            f"dim-{n}-min_value": "1",
            f"dim-{n}-max_value": "10",
            f"dim-{n}-order": "3",
            f"dim-{n}-categories_text": "non-diagnostic\ndiagnostic\nexcellent",
            f"dim-{n}-criteria": "Motion, noise, coverage.",
            f"dim-{n}-raters": [str(people[names.RATER].pk)],
            f"dim-{n}-image_labels": image.label,
        }
    )
    response = client.post(f"/studies/{study.pk}/setup/dimensions/", data)
    assert response.status_code == 302, response.context["formset"].errors
    dim = study.dimensions.get(key="diagnostic")
    assert dim.categories == ["non-diagnostic", "diagnostic", "excellent"]
    assert (dim.min_value, dim.max_value) == (0, 2)  # implied by the categories
    assert list(dim.raters.all()) == [people[names.RATER]]
    assert list(dim.images.all()) == [image]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "score", "min_value": "5", "max_value": "5"}, "highest score must be above"),
        ({"kind": "category", "categories_text": "only-one"}, "at least two category labels"),
        ({"kind": "category", "categories_text": "a\na"}, "must be different"),
        ({"key": "gray-level"}, "already has a dimension"),
        ({"key": "not a slug"}, "Enter a valid"),
        ({"image_labels": "IMG-NOPE"}, "Not in this study: IMG-NOPE"),
    ],
)
def test_bad_dimension_is_explained(client, study, people, fields, message):
    client.force_login(people[names.COORDINATOR])
    data = dimension_rows(study)
    n = study.dimensions.count()
    new = {"key": "contrast", "label": "Contrast", "kind": "score", "min_value": "1"}
    new.update({"max_value": "10", "order": "4"})
    new.update(fields)
    data.update({f"dim-{n}-{k}": v for k, v in new.items()})
    response = client.post(f"/studies/{study.pk}/setup/dimensions/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert study.dimensions.count() == n


def test_a_rated_dimension_keeps_its_scale_and_cannot_be_deleted(client, study, people):
    rate(study, people[names.RATER], study.images.first(), {"gray-level": 9})
    client.force_login(people[names.COORDINATOR])
    page = f"/studies/{study.pk}/setup/dimensions/"
    gray = list(study.dimensions.all()).index(study.dimensions.get(key="gray-level"))

    data = dimension_rows(study)
    data[f"dim-{gray}-max_value"] = "5"
    response = client.post(page, data)
    assert "its kind, range and categories are fixed" in response.content.decode()

    data = dimension_rows(study)
    data[f"dim-{gray}-DELETE"] = "on"
    response = client.post(page, data)
    assert "has 1 rating and cannot be deleted" in response.content.decode()

    # Label and criteria may still change.
    data = dimension_rows(study)
    data[f"dim-{gray}-label"] = "Gray level (EC criteria)"
    assert client.post(page, data).status_code == 302
    dim = Dimension.objects.get(study=study, key="gray-level")
    assert (dim.label, dim.max_value) == ("Gray level (EC criteria)", 10)


def test_add_members_by_username(client, study, people, make_user):
    newbie = make_user("frank")
    client.force_login(people[names.COORDINATOR])
    page = f"/studies/{study.pk}/setup/members/"
    response = client.post(page, {"role": Role.RATER, "usernames": "frank, nobody, ghost"})
    assert "No active user named nobody, ghost." in response.content.decode()
    assert not Membership.objects.filter(user=newbie).exists()

    assert client.post(page, {"role": Role.RATER, "usernames": "frank"}).status_code == 302
    assert Membership.objects.filter(user=newbie, study=study, role=Role.RATER).exists()
    assert RaterProfile.objects.get(user=newbie).pseudonym.startswith("R")


def test_the_last_coordinator_cannot_leave(client, study, people):
    carol = people[names.COORDINATOR]
    mine = Membership.objects.get(user=carol, study=study, role=Role.COORDINATOR)
    client.force_login(carol)
    response = client.post(f"/studies/{study.pk}/setup/members/{mine.pk}/", follow=True)
    assert "at least one coordinator" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


@pytest.mark.browser
def test_staff_sets_up_a_study_in_the_browser(people, page, login, live_server, tmp_path):
    dataset = make_dataset(name="Chest PA", n_images=5)
    login(page, names.STAFF)
    page.goto(f"{live_server.url}/studies/new/")
    page.fill("input[name=name]", "Browser study")
    page.select_option("select[name=dataset]", str(dataset.pk))
    page.click("button:has-text('Create study')")
    page.wait_for_load_state("networkidle")
    assert "Now choose its images" in page.content()

    page.check("input[value=sample]")
    page.fill("input[name=sample_size]", "3")
    page.click("button:has-text('Apply')")
    page.wait_for_load_state("networkidle")
    assert "The study has 3 of the dataset" in page.locator("#image-count").inner_text()

    page.click("text=Dimensions")
    page.fill("input[name=dim-0-key]", "sharpness")
    page.fill("input[name=dim-0-label]", "Sharpness")
    page.fill("input[name=dim-0-min_value]", "1")
    page.fill("input[name=dim-0-max_value]", "10")
    page.click("button:has-text('Save dimensions')")
    page.wait_for_load_state("networkidle")
    assert "Dimensions saved." in page.content()

    page.click("text=People")
    page.select_option("select[name=role]", Role.RATER)
    page.fill("textarea[name=usernames]", "alice\nbob")
    page.click("button:has-text('Add')")
    page.wait_for_load_state("networkidle")
    assert page.locator("section[data-role=rater] li").count() == 2
    page.screenshot(path=str(tmp_path / "setup.png"), full_page=True)
