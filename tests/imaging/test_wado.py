"""The WADO-URI endpoint: de-identified DICOM for those allowed, 403 / 404 for the rest."""

import io

import pydicom
import pydicom.data
import pytest
from django.test import Client

from imaging.ingest import ingest_paths
from imaging.models import ImageFile
from tests.factories import make_study, names


@pytest.fixture
def image_file(study):
    ingest_paths(study.dataset, [pydicom.data.get_testdata_file("CT_small.dcm")], workers=1)
    stored = ImageFile.objects.get(dataset=study.dataset)
    study.study_images.create(image=stored.image)
    return stored


def _get(user, uid, **headers):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get("/wado/", {"requestType": "WADO", "objectUID": uid}, **headers)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (names.RATER, 200),
        (names.RATER2, 200),
        (names.COORDINATOR, 200),
        (names.RESEARCHER, 200),
        (names.STAFF, 200),
        (names.OUTSIDER, 403),
    ],
)
def test_who_may_load_an_image(people, image_file, who, expected):
    response = _get(people[who], image_file.sop_instance_uid)
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"] == "application/dicom"
        assert "private" in response["Cache-Control"]
        body = b"".join(response.streaming_content)
        assert body[128:132] == b"DICM"
        assert len(body) == image_file.size_bytes


def test_anonymous_users_are_sent_to_login(image_file):
    response = _get(None, image_file.sop_instance_uid)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_unknown_uid_is_404(people, image_file):
    assert _get(people[names.RATER], "2.25.1234").status_code == 404


def test_a_rater_of_another_study_cannot_load_the_image(people, image_file, make_user):
    other_rater = make_user("frank")
    make_study({**people, names.RATER: other_rater, names.RATER2: people[names.OUTSIDER]})
    assert _get(other_rater, image_file.sop_instance_uid).status_code == 403


def test_the_served_file_is_de_identified(people, image_file):
    original = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    response = _get(people[names.RATER], image_file.sop_instance_uid)
    served = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
    assert served.PatientIdentityRemoved == "YES"
    assert str(served.get("PatientName", "")) != str(original.PatientName)
    assert served.SOPInstanceUID != original.SOPInstanceUID
    assert served.SOPInstanceUID == image_file.sop_instance_uid


def test_a_cached_copy_is_revalidated_with_its_etag(people, image_file):
    first = _get(people[names.RATER], image_file.sop_instance_uid)
    again = _get(people[names.RATER], image_file.sop_instance_uid, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize(
    "params",
    [{}, {"requestType": "WADO"}, {"requestType": "QIDO", "objectUID": "1.2"}],
)
def test_malformed_requests_get_a_clear_400(people, params):
    client = Client()
    client.force_login(people[names.RATER])
    assert client.get("/wado/", params).status_code == 400
