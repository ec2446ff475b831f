"""Nothing rated is deleted by one click: the ORM, the admin, the setup pages and the API refuse."""

import pytest
from django.db.models import ProtectedError
from rest_framework.test import APIClient

from imaging.models import Image
from ratings.models import Assessment, Dimension, Membership, Rating, ReaderStudy, Role
from tests.factories import names, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(study, people):
    """alice rated the first image on every dimension."""
    image = study.images.order_by("pk").first()
    rate(study, people[names.RATER], image, {"gray-level": 7, "sharpness": 6, "acceptable": 1})
    return study


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def gray(study) -> Dimension:
    return study.dimensions.get(key="gray-level")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- the database ----------------------------------------------------------------------------


def test_the_database_protects_ratings_from_a_cascade(rated, people):
    with pytest.raises(ProtectedError):
        gray(rated).delete()
    with pytest.raises(ProtectedError):
        rated.delete()
    with pytest.raises(ProtectedError):
        rated.images.order_by("pk").first().delete()
    with pytest.raises(ProtectedError):
        people[names.RATER].delete()
    assert Rating.objects.count() == 3


# --- the admin -------------------------------------------------------------------------------


def test_admin_refuses_deleting_a_rated_dimension_and_says_why(admin_client, rated):
    url = f"/admin/ratings/dimension/{gray(rated).pk}/delete/"
    page = admin_client.get(url).content.decode()
    assert "has 1 rating and cannot be deleted" in page
    admin_client.post(url, {"post": "yes"})
    assert Dimension.objects.filter(pk=gray(rated).pk).exists()

    # The bulk action too.
    response = admin_client.post(
        "/admin/ratings/dimension/",
        {"action": "delete_selected", "_selected_action": [gray(rated).pk], "post": "yes"},
    )
    assert "has 1 rating and cannot be deleted" in response.content.decode()
    assert Rating.objects.filter(dimension__key="gray-level").count() == 1


def test_admin_deletes_an_unrated_dimension(admin_client, rated):
    unrated = Dimension.objects.create(study=rated, key="noise", label="Noise")
    response = admin_client.post(f"/admin/ratings/dimension/{unrated.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Dimension.objects.filter(pk=unrated.pk).exists()


def test_admin_refuses_rescaling_a_rated_dimension(admin_client, rated):
    dim = gray(rated)
    form = {
        "study": rated.pk,
        "key": dim.key,
        "label": dim.label,
        "kind": dim.kind,
        "min_value": dim.min_value,
        "max_value": 5,
        "categories": "[]",
        "criteria": "",
        "order": dim.order,
    }
    response = admin_client.post(f"/admin/ratings/dimension/{dim.pk}/change/", form)
    assert response.status_code == 200
    assert "its kind, range and categories are fixed" in response.content.decode()
    assert Dimension.objects.get(pk=dim.pk).max_value == 10
    form["max_value"], form["label"] = dim.max_value, "Gray level, renamed"
    assert admin_client.post(f"/admin/ratings/dimension/{dim.pk}/change/", form).status_code == 302


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("readerstudy", "Close or archive it instead"),
        ("image", "has 1 reading and cannot be deleted"),
        ("membership", "stays one of its raters"),
        ("studyimage", "already have readings"),
    ],
)
def test_admin_refuses_deleting_rated_studies_images_and_raters(
    admin_client, rated, people, kind, message
):
    image = rated.images.order_by("pk").first()
    pk = {
        "readerstudy": rated.pk,
        "image": image.pk,
        "membership": Membership.objects.get(
            study=rated, user=people[names.RATER], role=Role.RATER
        ).pk,
        "studyimage": rated.study_images.get(image=image).pk,
    }[kind]
    app = "imaging" if kind == "image" else "ratings"
    url = f"/admin/{app}/{kind}/{pk}/delete/"
    assert message in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert ReaderStudy.objects.filter(pk=rated.pk).exists()
    assert Image.objects.filter(pk=image.pk).exists()
    assert Membership.objects.filter(study=rated, user=people[names.RATER]).exists()
    assert rated.study_images.filter(image=image).exists()
    assert Assessment.objects.count() == 1


# --- the setup pages -------------------------------------------------------------------------


def test_setup_page_keeps_a_rater_with_readings(client, rated, people):
    mine = Membership.objects.get(study=rated, user=people[names.RATER], role=Role.RATER)
    client.force_login(people[names.COORDINATOR])
    response = client.post(f"/studies/{rated.pk}/setup/members/{mine.pk}/", follow=True)
    assert "stays one of its raters" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()
    # bob has no readings: he may go.
    bob = Membership.objects.get(study=rated, user=people[names.RATER2], role=Role.RATER)
    client.post(f"/studies/{rated.pk}/setup/members/{bob.pk}/")
    assert not Membership.objects.filter(pk=bob.pk).exists()


# --- the API ---------------------------------------------------------------------------------


def test_api_refuses_deleting_or_rescaling_a_rated_dimension(rated, people):
    coordinator = api(people[names.COORDINATOR])
    url = f"/api/v1/studies/{rated.pk}/dimensions/{gray(rated).pk}/"
    refused = coordinator.delete(url)
    assert refused.status_code == 409
    assert refused.json()["code"] == "dimension_rated"
    assert "has 1 rating" in refused.json()["detail"]

    rescaled = coordinator.patch(url, {"max_value": 5}, format="json")
    assert rescaled.status_code == 409
    assert rescaled.json()["code"] == "dimension_rescaled"
    assert gray(rated).max_value == 10

    renamed = coordinator.patch(url, {"label": "Gray (EC)"}, format="json")
    assert renamed.status_code == 200
    assert gray(rated).label == "Gray (EC)"


def test_api_deletes_an_unrated_dimension_for_coordinators_only(rated, people):
    made = api(people[names.COORDINATOR]).post(
        f"/api/v1/studies/{rated.pk}/dimensions/",
        {"key": "noise", "label": "Noise", "kind": "score", "min_value": 1, "max_value": 5},
        format="json",
    )
    assert made.status_code == 201, made.json()
    url = f"/api/v1/studies/{rated.pk}/dimensions/{made.json()['id']}/"
    assert api(people[names.RATER]).delete(url).status_code == 403
    assert api(people[names.COORDINATOR]).delete(url).status_code == 204
    assert not rated.dimensions.filter(key="noise").exists()


def test_setup_page_deletes_an_unrated_dimension_but_not_a_rated_one(client, rated, people):
    from tests.frontend.test_study_setup import dimension_rows

    Dimension.objects.create(study=rated, key="noise", label="Noise", order=99)
    client.force_login(people[names.COORDINATOR])
    page = f"/studies/{rated.pk}/setup/dimensions/"
    keys = list(rated.dimensions.values_list("key", flat=True))

    data = dimension_rows(rated)
    data[f"dim-{keys.index('gray-level')}-DELETE"] = "on"
    data[f"dim-{keys.index('noise')}-DELETE"] = "on"
    refused = client.post(page, data)
    assert "has 1 rating and cannot be deleted" in refused.content.decode()
    assert rated.dimensions.filter(key="noise").exists()  # all or nothing

    data = dimension_rows(rated)
    data[f"dim-{keys.index('noise')}-DELETE"] = "on"
    assert client.post(page, data).status_code == 302
    assert not rated.dimensions.filter(key="noise").exists()
    assert rated.dimensions.filter(key="gray-level").exists()
