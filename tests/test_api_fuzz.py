"""Issue 12, figure 1: Schemathesis over the whole OpenAPI schema, as each role.

Every operation of /api/v1/schema/ is called in-process (the WSGI app on the test database)
with generated requests - valid ones, ones with the real ids of the world's objects in their
path, and invalid ones - as anonymous, a rater of the study, a rater of another study only,
the coordinator, the researcher and staff, each with a token. Two checks on every answer: no
5xx, and a documented answer matches its schema. The run is bounded (a few examples per
operation, derandomized) so it stays in `make test`; the counts per role are printed in the
terminal summary. Each role gets a fresh world (the test's transaction is rolled back), and
DELETE operations run last so they cannot take a fixture from the others.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from iqa_platform.wsgi import application
from tests.test_authorization_matrix import ROLES, world  # noqa: F401  (the shared world)

# Per operation: CI's run is a smoke test, not a soak; IQA_FUZZ_EXAMPLES=200 digs deeper.
MAX_EXAMPLES = int(os.environ.get("IQA_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance]

# The object a path's `{id}` names, by the path's first segment (as in the matrix).
OWNER = {
    "datasets": "dataset",
    "exports": "export",
    "ingest-jobs": "ingest",
    "training-runs": "run",
    "model-versions": "version",
    "upload-sessions": "session",
}


def real_path_parameters(path: str, ids: dict) -> dict:
    """The world's ids for an operation's path parameters, so requests reach real objects."""
    first = path.removeprefix("/api/v1/").split("/")[0]
    values = {
        "id": ids[OWNER.get(first, "study")],
        "dataset_pk": ids["dataset"],
        "study_id": ids["study"],
        "study_pk": ids["study"],
        "client_id": ids["client_id"],
        "item": ids["item"],
        "sid": ids["session"],
        "index": 0,
        "fmt": "csv",
    }
    if "/dimensions/{id}" in path:
        values["id"] = ids["dimension"]
    return {name: values[name] for name in values if "{" + name + "}" in path}


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    # DELETE last: a deleted dimension or upload session must not starve the other operations.
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.label))


@pytest.fixture
def in_process_app(settings):
    """The WSGI app on the test's own connection, as Django's test client runs it: the
    connection must outlive each request, or the test's transaction is closed under it."""
    settings.ALLOWED_HOSTS = ["localhost"]
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield application
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_answers_match_the_schema(role, world, in_process_app, report_figure):  # noqa: F811
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", in_process_app)
    user = world["users"][role]
    headers = {} if user is None else {"Authorization": f"Token {Token.objects.create(user=user)}"}
    counts = {"operations": 0, "cases": 0, "failures": 0, "2xx": 0, "4xx": 0}
    failures: dict[tuple, str] = {}  # one report per operation, status and kind of failure
    started = time.monotonic()
    for operation in _operations(schema):
        counts["operations"] += 1
        real = real_path_parameters(operation.path, world)
        strategy = st.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=real),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, path_parameters=real),
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        )

        @given(case=strategy)
        @hsettings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            counts["cases"] += 1
            response = case.call(headers=headers)
            kind = f"{response.status_code // 100}xx"
            counts[kind] = counts.get(kind, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                counts["failures"] += 1
                for failure in group.exceptions:
                    key = (case.operation.label, response.status_code, failure.code)
                    failures.setdefault(key, str(failure)[:1500])

        run()
    counts["seconds"] = round(time.monotonic() - started, 1)
    report_figure("schemathesis: operations, cases and failures per role", f"{role:12} {counts}")
    for (label, status, code), text in failures.items():
        print(f"FAIL {role} {label} -> {status} {code}: {text[:300]!r}")
    assert not failures, "\n\n".join(f"{key}: {text}" for key, text in failures.items())
