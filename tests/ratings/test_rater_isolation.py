"""A rater sees only their own study's images and their own scores; never patient data."""

import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from ratings.models import Assessment, Rating
from ratings.reading import submit_assessment
from ratings.worklist import item_token
from tests.factories import make_image_file, make_study, names

GOOD = {"gray-level": 7, "sharpness": 6, "acceptable": 1}
SECRETS = {
    "patient_key": "PK-SECRET-4242",
    "site_key": "SITE-SECRET-77",
    "age_band": "80-89",
    "patient_sex": "F",
    "truth": {"gray_level": 3.1415, "sharpness": 2.7182},
}


def timing():
    return {"submitted_ms": 9000, "rendered_ms": 30, "active_ms": 8000}


def with_file(image, content: bytes = b"DICM-test-bytes") -> str:
    path = Path(settings.MEDIA_ROOT) / "dicom" / f"{uuid.uuid4().hex}.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    f = make_image_file(
        image,
        file_name=str(path.relative_to(settings.MEDIA_ROOT)),
        size_bytes=len(content),
        sha256="a" * 64,
    )
    return f.sop_instance_uid


@pytest.fixture
def two_studies(people):
    """Alice and Bob rate study A; only Bob rates study B."""
    a = make_study(people, name="study A")
    b = make_study(people, name="study B")
    b.memberships.filter(user=people[names.RATER]).delete()
    for image in [*a.images.all(), *b.images.all()]:
        for field, value in SECRETS.items():
            setattr(image, field, value)
        image.save()
        with_file(image)
    return a, b


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def wado(uid):
    return f"/wado/?requestType=WADO&objectUID={uid}"


def test_a_rater_cannot_load_another_studys_image(two_studies, people):
    a, b = two_studies
    alice = people[names.RATER]
    mine = a.images.first().files.first().sop_instance_uid
    theirs = b.images.first().files.first().sop_instance_uid
    client = page_client(alice)
    assert client.get(wado(mine)).status_code == 200
    assert client.get(wado(theirs)).status_code == 403
    assert client.get(wado("2.25.404")).status_code == 404
    rest = api(alice)
    assert rest.get(f"/api/v1/studies/{b.id}/worklist/").status_code == 404
    b_image = b.images.first().id
    b_item = item_token(b.id, alice.id, b_image, 0)
    assert rest.get(f"/api/v1/studies/{b.id}/items/{b_item}/").status_code == 404
    assert client.get(f"/api/v1/studies/{b.id}/items/{b_item}/file/").status_code == 404
    # Nor through her own study's id.
    forged = item_token(a.id, alice.id, b_image, 0)
    assert rest.get(f"/api/v1/studies/{a.id}/items/{forged}/").status_code == 404
    assert client.get(f"/api/v1/studies/{a.id}/items/{forged}/file/").status_code == 404
    response = rest.post(
        f"/api/v1/studies/{a.id}/assessments/",
        {"client_id": str(uuid.uuid4()), "image": b_image, "ratings": GOOD, "timing": timing()},
        format="json",
    )
    assert response.status_code == 404
    assert client.get(f"/studies/{b.id}/read/").status_code == 404
    assert not Assessment.objects.exists()


def test_a_rater_never_sees_another_raters_scores(two_studies, people):
    a, _ = two_studies
    alice, bob = people[names.RATER], people[names.RATER2]
    image = a.images.first()
    bobs = submit_assessment(
        study=a,
        rater=bob,
        image_id=image.id,
        client_id=uuid.uuid4(),
        values={"gray-level": 2, "sharpness": 3, "acceptable": 0},
        timing=timing(),
    ).assessment
    rest = api(alice)
    assert rest.get(f"/api/v1/studies/{a.id}/assessments/").json() == []
    detail = f"/api/v1/studies/{a.id}/assessments/{bobs.client_id}/"
    assert rest.get(detail).status_code == 404
    assert rest.patch(detail, {"ratings": GOOD}, format="json").status_code == 404
    # Reusing Bob's client id tells Alice nothing and changes nothing.
    reuse = rest.post(
        f"/api/v1/studies/{a.id}/assessments/",
        {"client_id": str(bobs.client_id), "image": image.id, "ratings": GOOD, "timing": timing()},
        format="json",
    )
    assert reuse.status_code == 409
    assert set(reuse.json()) == {"detail", "code"}
    assert sorted(Rating.objects.filter(assessment=bobs).values_list("value", flat=True)) == [
        0,
        2,
        3,
    ]
    # Alice's worklist and page show the image as hers to rate, without Bob's values.
    worklist = rest.get(f"/api/v1/studies/{a.id}/worklist/").json()
    token = item_token(a.id, alice.id, image.id, 0)
    item = next(i for i in worklist["items"] if i["item"] == token)
    assert item["status"] == "todo" and item["mine"] is None
    info = rest.get(f"/api/v1/studies/{a.id}/items/{token}/").json()
    assert info["mine"] is None
    page = page_client(alice).get(f"/studies/{a.id}/read/").content.decode()
    assert str(bobs.client_id) not in page


def test_no_patient_or_clinical_data_reaches_a_rater(two_studies, people):
    a, _ = two_studies
    a.study_images.update(priority=9)
    alice = people[names.RATER]
    rest = api(alice)
    texts = [
        json.dumps(rest.get(f"/api/v1/studies/{a.id}/worklist/").json()),
        json.dumps(
            rest.get(
                f"/api/v1/studies/{a.id}/items/"
                f"{item_token(a.id, alice.id, a.images.first().id, 0)}/"
            ).json()
        ),
        page_client(alice).get(f"/studies/{a.id}/read/").content.decode(),
    ]
    for text in texts:
        for secret in ["PK-SECRET-4242", "SITE-SECRET-77", "80-89", "3.1415", "2.7182"]:
            assert secret not in text
        # Nor a model's choice of images (priority): model output is blinded too.
        for field in ["patient_key", "site_key", "age_band", "patient_sex", "truth", "priority"]:
            assert field not in text


@pytest.mark.parametrize(
    ("who", "page_status", "submit_status"),
    [
        (names.RATER, 200, 201),
        (names.COORDINATOR, 403, 403),
        (names.RESEARCHER, 403, 403),
        (names.OUTSIDER, 404, 404),
    ],
)
def test_only_raters_read_and_rate(two_studies, people, who, page_status, submit_status):
    a, _ = two_studies
    user = people[who]
    assert page_client(user).get(f"/studies/{a.id}/read/").status_code == page_status
    response = api(user).post(
        f"/api/v1/studies/{a.id}/assessments/",
        {
            "client_id": str(uuid.uuid4()),
            "image": a.images.first().id,
            "ratings": GOOD,
            "timing": timing(),
        },
        format="json",
    )
    assert response.status_code == submit_status


def test_the_reading_page_sends_a_content_security_policy(two_studies, people):
    a, _ = two_studies
    response = page_client(people[names.RATER]).get(f"/studies/{a.id}/read/")
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    # The loader's worker and codecs are files of our own origin: no blob: worker, no data:
    # fetches, and no eval on the page (the codecs' WebAssembly runs in the worker).
    assert directives["worker-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
