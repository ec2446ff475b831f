"""The dataset page's upload survives a flaky connection: lost chunks and lost answers."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from imaging.models import Dataset, IngestJob
from ratings.permissions import STUDY_MANAGERS
from tests.factories import names
from tests.frontend.reading_fixtures import pydicom_data_file

pytestmark = pytest.mark.browser


def test_an_upload_goes_on_through_dropped_chunks(people, page, login, live_server, settings):
    carol = people[names.COORDINATOR]
    carol.groups.add(Group.objects.get_or_create(name=STUDY_MANAGERS)[0])
    dataset = Dataset.objects.create(name="Flaky", created_by=carol)
    files = [pydicom_data_file("CT_small.dcm"), pydicom_data_file("MR_small.dcm")]
    attempts = {"n": 0}

    def flaky(route):
        attempts["n"] += 1
        if attempts["n"] == 1:
            route.abort("connectionreset")  # the chunk never arrives
        elif attempts["n"] == 2:
            route.fetch()  # the chunk arrives, its answer is lost: the page sends it again
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/upload-sessions/*/files/**", flaky)
    login(page, names.COORDINATOR)
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    page.set_input_files("#upload-files", [str(f) for f in files])
    page.get_by_role("button", name="Upload").click()
    # No worker runs here: the job waits, and the page follows it.
    page.wait_for_function(
        "() => document.getElementById('upload-status').textContent.includes('Importing')",
        timeout=60_000,
    )
    assert attempts["n"] >= 4  # two lost tries, then both files
    job = IngestJob.objects.get(dataset=dataset)
    stored = sorted(Path(job.upload_dir).iterdir())
    assert [p.read_bytes() for p in stored] == [f.read_bytes() for f in files]
    assert page.locator("#transfer-bar").get_attribute("aria-valuenow") == "100"
