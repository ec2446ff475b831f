"""The API's OpenAPI schema and its Swagger UI page: valid, and served from our own origin."""

from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import call_command


def test_the_schema_is_valid_openapi_without_warnings(tmp_path):
    """drf-spectacular validates the schema against the OpenAPI 3 meta-schema; any view it cannot
    describe (a warning) fails the command, so a client generator would get the whole API."""
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/studies/{study_id}/worklist/",
        "/api/v1/studies/{study_id}/assessments/",
        "/api/v1/studies/{id}/agreement/",
        "/api/v1/datasets/{id}/uploads/",
    ]:
        assert path in schema["paths"], sorted(schema["paths"])


@pytest.mark.browser
def test_the_api_docs_page_works_with_no_other_origin(live_server, page):
    """Swagger UI renders the API from our own static files: nothing is fetched from a CDN,
    which a closed hospital network could not reach."""
    own = urlsplit(live_server.url).netloc
    foreign = []

    def only_own_origin(route):
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_own_origin)
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector("text=IQA platform API")
    page.wait_for_selector("text=/api/v1/studies/{study_id}/assessments/")
    assert foreign == []
