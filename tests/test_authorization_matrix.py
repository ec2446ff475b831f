"""Issue 12, figure 3: every route x role, generated from the URL conf.

Each route the resolver knows is requested (GET, with real ids in its path) as anonymous, a
rater of the study, a rater of another study only, the coordinator, the researcher and
staff; the status must be the one in EXPECTED. A new route without a row fails
`test_every_route_has_a_row`, so nobody adds a door without saying who may open it.
Unsafe methods are exercised by the tests of each feature; here a POST-only route shows
405 to whoever may reach it and 404/403 to whoever may not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pydicom.data
import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from imaging.chunked import create_session
from imaging.models import IngestJob
from inference.models import (
    ActiveLearningQuery,
    InferenceJob,
    ModelVersion,
    Prediction,
    TrainingRun,
)
from iqa_platform.jobs import JobStatus
from ratings.models import ExportJob, ExportKind, Membership, ReaderStudy, Role, StudyImage
from ratings.worklist import item_token
from tests.factories import make_dataset, make_image_file, names, rate

ROLES = ["anonymous", "rater", "other_rater", "coordinator", "researcher", "staff"]


def _routes(patterns=None, prefix: str = ""):
    """(route text, URL name, path parameter names) for every leaf route; admin excluded
    (Django's admin has its own staff-only gate and is tested by Django)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if text.startswith("admin/"):
                continue
            yield from _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text, pattern.name, tuple(pattern.pattern.regex.groupindex)


ROUTES = {text: (name, params) for text, name, params in _routes()}

# Method, then statuses in role order: anonymous, rater, other_rater, coordinator,
# researcher, staff. API answers 403 to anonymous (session auth), pages redirect to login.
# fmt: off
EXPECTED: dict[str, tuple[str, int, int, int, int, int, int]] = {
    '': ('GET', 302, 200, 200, 200, 200, 200),
    'api/v1/': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/<drf_format_suffix:format>': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^datasets/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^datasets/(?P<pk>[^/.]+)/$': ('GET', 403, 404, 404, 200, 404, 200),
    'api/v1/^exports/(?P<pk>[^/.]+)/$': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/^exports/(?P<pk>[^/.]+)/cancel/$': ('POST', 403, 403, 404, 202, 409, 409),
    'api/v1/^exports/(?P<pk>[^/.]+)/cancel\\.(?P<format>[a-z0-9]+)/?$': ('POST', 403, 403, 404, 202, 409, 409),  # noqa: E501
    'api/v1/^exports/(?P<pk>[^/.]+)/download/$': ('GET', 403, 403, 404, 409, 409, 409),
    'api/v1/^exports/(?P<pk>[^/.]+)/download\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 403, 404, 409, 409, 409),  # noqa: E501
    'api/v1/^exports/(?P<pk>[^/.]+)/retry/$': ('POST', 403, 403, 404, 409, 409, 409),
    'api/v1/^exports/(?P<pk>[^/.]+)/retry\\.(?P<format>[a-z0-9]+)/?$': ('POST', 403, 403, 404, 409, 409, 409),  # noqa: E501
    'api/v1/^exports/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 403, 404, 200, 200, 200),  # noqa: E501
    'api/v1/^ingest-jobs/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^ingest-jobs/(?P<pk>[^/.]+)/$': ('GET', 403, 404, 404, 200, 404, 200),
    'api/v1/^ingest-jobs/(?P<pk>[^/.]+)/cancel/$': ('POST', 403, 404, 404, 202, 404, 409),
    'api/v1/^ingest-jobs/(?P<pk>[^/.]+)/retry/$': ('POST', 403, 404, 404, 409, 404, 409),
    'api/v1/^inference-jobs/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^inference-jobs/(?P<pk>[^/.]+)/$': ('GET', 403, 404, 404, 200, 200, 200),
    'api/v1/^inference-jobs/(?P<pk>[^/.]+)/cancel/$': ('POST', 403, 404, 404, 403, 202, 409),
    'api/v1/^inference-jobs/(?P<pk>[^/.]+)/retry/$': ('POST', 403, 404, 404, 403, 409, 409),
    'api/v1/^model-versions/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/$': ('GET', 403, 404, 404, 200, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/activate/$': ('POST', 403, 404, 404, 403, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/download/$': ('GET', 403, 404, 404, 200, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/predictions/$': ('GET', 403, 404, 404, 200, 200, 200),
    # The report reads the world's stored prediction (its checkpoint is not a real one).
    'api/v1/^model-versions/(?P<pk>[^/.]+)/report/$': ('GET', 403, 404, 404, 200, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/report/pairs/$': ('GET', 403, 404, 404, 200, 200, 200),  # noqa: E501
    # Without ?image= the study's coordinator, researcher and staff get 400; raters never see it.
    'api/v1/^model-versions/(?P<pk>[^/.]+)/saliency/$': ('GET', 403, 404, 404, 400, 400, 400),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/queries/$': ('GET', 403, 404, 404, 403, 200, 200),
    'api/v1/^model-versions/(?P<pk>[^/.]+)/queries/(?P<query_pk>\\d+)/$': ('GET', 403, 404, 404, 403, 200, 200),  # noqa: E501
    'api/v1/^model-versions/(?P<pk>[^/.]+)/queries/(?P<query_pk>\\d+)/send/$': ('POST', 403, 404, 404, 403, 200, 409),  # noqa: E501
    'api/v1/^studies/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^studies/(?P<pk>[^/.]+)/$': ('GET', 403, 200, 404, 200, 200, 200),
    'api/v1/^studies/(?P<pk>[^/.]+)/state/$': ('POST', 403, 403, 404, 400, 403, 400),
    'api/v1/^studies/(?P<pk>[^/.]+)/state\\.(?P<format>[a-z0-9]+)/?$': ('POST', 403, 403, 404, 400, 403, 400),  # noqa: E501
    'api/v1/^studies/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 200, 404, 200, 200, 200),  # noqa: E501
    'api/v1/^studies/(?P<study_pk>\\d+)/dimensions/$': ('GET', 403, 403, 404, 200, 403, 200),
    'api/v1/^studies/(?P<study_pk>\\d+)/dimensions/(?P<pk>[^/.]+)/$': ('GET', 403, 403, 404, 200, 403, 200),  # noqa: E501
    'api/v1/^studies/(?P<study_pk>\\d+)/dimensions/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 403, 404, 200, 403, 200),  # noqa: E501
    'api/v1/^studies/(?P<study_pk>\\d+)/dimensions\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 403, 404, 200, 403, 200),  # noqa: E501
    'api/v1/^studies\\.(?P<format>[a-z0-9]+)/?$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^training-runs/$': ('GET', 403, 200, 200, 200, 200, 200),
    'api/v1/^training-runs/(?P<pk>[^/.]+)/$': ('GET', 403, 404, 404, 200, 200, 200),
    'api/v1/^training-runs/(?P<pk>[^/.]+)/cancel/$': ('POST', 403, 404, 404, 403, 409, 409),
    'api/v1/^training-runs/(?P<pk>[^/.]+)/retry/$': ('POST', 403, 404, 404, 403, 202, 409),
    'api/v1/datasets/<int:dataset_pk>/images/': ('GET', 403, 404, 404, 200, 404, 200),
    'api/v1/datasets/<int:pk>/upload-sessions/': ('POST', 403, 404, 404, 400, 404, 400),
    'api/v1/datasets/<int:pk>/uploads/': ('POST', 403, 404, 404, 400, 404, 400),
    'api/v1/docs/': ('GET', 200, 200, 200, 200, 200, 200),
    'api/v1/schema/': ('GET', 200, 200, 200, 200, 200, 200),
    'api/v1/studies/<int:pk>/agreement/': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/studies/<int:pk>/audit/': ('GET', 403, 403, 404, 200, 403, 200),
    # Without ?against= the study's coordinator, researcher and staff get 400.
    'api/v1/studies/<int:pk>/assisted-comparison/': ('GET', 403, 403, 404, 400, 400, 400),
    'api/v1/studies/<int:pk>/exports/': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/studies/<int:pk>/exports/ratings.<str:fmt>': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/studies/<int:pk>/mos/': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/studies/<int:pk>/progress/': ('GET', 403, 403, 404, 200, 200, 200),
    'api/v1/studies/<int:study_id>/assessments/': ('GET', 403, 200, 404, 200, 200, 200),
    'api/v1/studies/<int:study_id>/assessments/<str:client_id>/': ('GET', 403, 200, 404, 404, 404, 404),  # noqa: E501
    'api/v1/studies/<int:study_id>/items/<str:item>/': ('GET', 403, 200, 404, 403, 403, 404),
    # Only in an assisted-reading study (show_model_output); the matrix's study is not one.
    'api/v1/studies/<int:study_id>/items/<str:item>/saliency/': ('GET', 403, 404, 404, 403, 403, 404),  # noqa: E501
    'api/v1/studies/<int:study_id>/items/<str:item>/file/': ('GET', 302, 200, 404, 403, 403, 404),
    'api/v1/studies/<int:study_id>/worklist/': ('GET', 403, 200, 404, 403, 403, 200),
    'api/v1/upload-sessions/<str:sid>/': ('GET', 403, 404, 404, 200, 404, 404),
    'api/v1/upload-sessions/<str:sid>/files/<int:index>/': ('POST', 403, 405, 405, 405, 405, 405),
    'api/v1/upload-sessions/<str:sid>/finish/': ('POST', 403, 404, 404, 400, 404, 404),
    'datasets/': ('GET', 302, 403, 403, 200, 403, 200),
    'datasets/<int:pk>/': ('GET', 302, 404, 404, 200, 404, 200),
    'datasets/<int:pk>/images/<int:image_pk>/': ('GET', 302, 404, 404, 200, 404, 200),
    'datasets/<int:pk>/images/<int:image_pk>/thumbnail/': ('GET', 302, 404, 404, 404, 404, 404),
    'healthz': ('GET', 200, 200, 200, 200, 200, 200),
    'login/': ('GET', 200, 200, 200, 200, 200, 200),
    'logout/': ('POST', 302, 302, 302, 302, 302, 302),
    'qc/': ('GET', 302, 403, 403, 200, 200, 200),
    'studies/': ('GET', 302, 200, 200, 200, 200, 200),
    'studies/<int:pk>/dashboard/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/dashboard/status/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/audit/': ('GET', 302, 403, 404, 200, 403, 200),
    'studies/<int:pk>/exports/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/exports/release/': ('POST', 302, 403, 404, 400, 403, 400),
    'studies/<int:pk>/exports/split/': ('POST', 302, 403, 404, 400, 403, 400),
    'studies/<int:pk>/exports/start/': ('POST', 302, 403, 404, 302, 403, 302),
    'studies/<int:pk>/images/<int:image_pk>/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/qc/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/qc/images/<int:image_pk>/thumbnail/': ('GET', 302, 403, 404, 404, 404, 404),
    'studies/<int:pk>/releases/<int:version>/': ('GET', 302, 403, 404, 404, 404, 404),
    'studies/<int:pk>/releases/<int:version>/download/': ('GET', 302, 403, 404, 404, 404, 404),
    'studies/<int:pk>/report/': ('GET', 302, 403, 404, 200, 200, 200),
    'studies/<int:pk>/setup/': ('GET', 302, 403, 404, 200, 403, 200),
    'studies/<int:pk>/setup/dimensions/': ('GET', 302, 403, 404, 200, 403, 200),
    'studies/<int:pk>/setup/images/': ('GET', 302, 403, 404, 200, 403, 200),
    'studies/<int:pk>/setup/members/': ('GET', 302, 403, 404, 200, 403, 200),
    'studies/<int:pk>/setup/members/<int:mpk>/': ('POST', 302, 403, 404, 302, 403, 302),
    'studies/<int:pk>/setup/state/': ('POST', 302, 403, 404, 302, 403, 302),
    'studies/<int:study_id>/read/': ('GET', 302, 200, 404, 403, 403, 200),
    'studies/new/': ('GET', 302, 403, 403, 403, 403, 200),
    'training/': ('GET', 302, 403, 403, 200, 200, 200),
    'training/new/': ('GET', 302, 403, 403, 403, 200, 200),
    'training/runs/<int:pk>/': ('GET', 302, 404, 404, 200, 200, 200),
    'training/versions/<int:pk>/report/': ('GET', 302, 404, 404, 409, 409, 409),
    'wado/': ('GET', 302, 200, 403, 200, 200, 200),
}
# fmt: on


@pytest.fixture
def world(people, study):
    """The study (alice and bob rate, carol coordinates, dave researches), a second study on
    another dataset that eve rates, and one of every object a route can name."""
    other = ReaderStudy.objects.create(name="other study", dataset=make_dataset(n_images=1))
    StudyImage.objects.create(study=other, image=other.dataset.images.first())
    Membership.objects.create(user=people[names.OUTSIDER], study=other, role=Role.RATER)
    image = study.dataset.images.first()
    assessment = rate(study, people[names.RATER], image, {})
    ingest = IngestJob.objects.create(
        dataset=study.dataset, created_by=people[names.COORDINATOR], upload_dir="/nonexistent"
    )
    export = ExportJob.objects.create(study=study, kind=ExportKind.MOS_CSV)
    member = Membership.objects.filter(study=study, role=Role.RATER).first()
    stored = Path(settings.MEDIA_ROOT) / "matrix.dcm"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(Path(pydicom.data.get_testdata_file("CT_small.dcm")).read_bytes())
    wado_file = make_image_file(image, "matrix.dcm")
    run = TrainingRun.objects.create(
        study=study, dimension_key="gray-level", target="regression", arch="convnet4",
        status=JobStatus.FAILED,
    )  # fmt: skip
    (Path(settings.MEDIA_ROOT) / "matrix.pt").write_bytes(b"checkpoint")
    version = ModelVersion.objects.create(
        run=run, study=study, dimension_key="gray-level", arch="convnet4", target="regression",
        checkpoint="matrix.pt", checkpoint_sha256="0" * 64, labels_fingerprint="0" * 64,
    )  # fmt: skip
    inference = InferenceJob.objects.create(model_version=version, study=study)
    Prediction.objects.create(
        image=image, model_version=version, job=inference, score=5.0, qc_value=5.0,
        flagged=True, seconds=0.1,
    )  # fmt: skip
    query = ActiveLearningQuery.objects.create(
        model_version=version, study=study, dimension_key="gray-level", strategy="random", k=1,
        items=[{"rank": 1, "image": image.pk, "label": "", "score": 0.0, "reason": "random"}],
    )  # fmt: skip
    session = create_session(
        study.dataset, people[names.COORDINATOR], [{"name": "a.dcm", "size": 10}], False
    )
    users = {
        "anonymous": None,
        "rater": people[names.RATER],
        "other_rater": people[names.OUTSIDER],
        "coordinator": people[names.COORDINATOR],
        "researcher": people[names.RESEARCHER],
        "staff": people[names.STAFF],
    }
    return {
        "users": users,
        "study": study.pk,
        "dataset": study.dataset.pk,
        "image": image.pk,
        "client_id": str(assessment.client_id),
        "ingest": ingest.pk,
        "export": export.pk,
        "member": member.pk,
        "wado": f"?requestType=WADO&objectUID={wado_file.sop_instance_uid}",
        "run": run.pk,
        "version": version.pk,
        "inference": inference.pk,
        "query": query.pk,
        "session": session.id,
        "item": item_token(study.pk, people[names.RATER].pk, image.pk, 0),
        "dimension": study.dimensions.first().pk,
    }


def _path(route: str, world: dict) -> str:
    name, params = ROUTES[route]
    owner = {
        "datasets": "dataset", "ingest-jobs": "ingest", "exports": "export",
        "training-runs": "run", "model-versions": "version", "training": "run",
        "inference-jobs": "inference",
    }  # fmt: skip
    first = re.sub(r"^\^?(api/v1/)?\^?", "", route).split("/")[0].split("\\")[0]
    values = {
        "pk": world[owner.get(first, "study")],
        "dataset_pk": world["dataset"],
        "study_id": world["study"],
        "image_id": world["image"],
        "image_pk": world["image"],
        "client_id": world["client_id"],
        "mpk": world["member"],
        "fmt": "csv",
        "format": "json",
        "study_pk": world["study"],
        "query_pk": world["query"],
        "item": world["item"],
        "sid": world["session"],
        "index": 0,
        # No release is frozen in this world: the release routes answer 404 to all but
        # anonymous (the release pages' own tests check who may see a real one).
        "version": 999,
    }
    if name.startswith("study-dimension"):
        values["pk"] = world["dimension"]
    if name == "training-version-report":
        values["pk"] = world["version"]
    kwargs = {p: values[p] for p in params}
    if name == "api-root" and "format" in kwargs:
        return "/api/v1/.json"
    return reverse(name, kwargs=kwargs) + (world["wado"] if name == "wado-uri" else "")


def test_every_route_has_a_row():
    missing = sorted(set(ROUTES) - set(EXPECTED))
    gone = sorted(set(EXPECTED) - set(ROUTES))
    assert not missing, f"routes without a row in EXPECTED: {missing}"
    assert not gone, f"rows for routes that no longer exist: {gone}"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_answers_each_role_as_expected(route, world):
    path = _path(route, world)
    staff = APIClient()
    staff.force_login(world["users"]["staff"])
    # A route that only takes POST (cancel, retry, upload, logout, remove) is tried with an
    # empty POST: its answers then say who may act (the roles run in order, on shared rows).
    method = "post" if staff.get(path).status_code == 405 else "get"
    got = []
    for role in ROLES:
        client = APIClient()
        user = world["users"][role]
        if user is not None:
            client.force_login(user)
        got.append(getattr(client, method)(path).status_code)
    expected = EXPECTED.get(route)
    if os.environ.get("IQA_PRINT_MATRIX"):
        print(f"MATRIX {route!r}: {(method.upper(), *got)!r},")
    assert (method.upper(), *got) == expected, (
        f"{route} -> {method} {path}: {dict(zip(ROLES, got, strict=True))}"
    )
