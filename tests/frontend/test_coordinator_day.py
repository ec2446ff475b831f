"""A coordinator's day in the browser, with no API call and no command from the test: upload a
zip of DICOM, read the import's report, set up a study, follow a rater, export, split, release.

Ratings "arrive" as rows in the database (as if raters had read elsewhere); everything the
coordinator does goes through the pages. Screenshots of the pages land in docs/screenshots/.
"""

import hashlib
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from ratings.models import ReaderStudy
from ratings.permissions import STUDY_MANAGERS
from tests.factories import names, rate

pytestmark = [pytest.mark.browser, pytest.mark.worker]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
N_GOOD = 4


def dicom_zip(tmp_path: Path) -> Path:
    """Four generated radiographs and one file that is not DICOM, in one zip."""
    from demo.synthetic.generate import generate_chest_dataset

    folder = tmp_path / "gen"
    generate_chest_dataset(folder, N_GOOD, seed=11, unique_uids=True)
    archive = tmp_path / "day.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
            z.write(path, f"scans/{i:02d}.dcm")
        z.writestr("scans/notes.txt", "not an image")
    return archive


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go(page, action) -> None:
    action()
    page.wait_for_load_state("networkidle")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_coordinators_day(people, page, login, live_server, celery_worker, tmp_path):
    carol = people[names.COORDINATOR]
    carol.groups.add(Group.objects.get_or_create(name=STUDY_MANAGERS)[0])
    archive = dicom_zip(tmp_path)
    login(page, names.COORDINATOR)

    # A first step, since carol has no study yet.
    assert page.get_by_role("heading", name="First steps").is_visible()
    shot(page, "home-first-steps")
    go(page, lambda: page.get_by_role("link", name="Upload images").click())
    page.fill("input[name=name]", "Day dataset")
    go(page, lambda: page.get_by_role("button", name="Create dataset").click())
    assert page.get_by_role("heading", name="Day dataset").is_visible()

    # Upload the zip through the page's file chooser; watch the transfer, then the import.
    page.set_input_files("#upload-files", str(archive))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("article.ingest-job[data-status=succeeded]", timeout=120_000)
    page.wait_for_load_state("networkidle")
    job = page.locator("article.ingest-job").first
    assert f"{N_GOOD} file(s) imported, 1 skipped" in job.locator(".job-summary").inner_text()
    bad = job.locator("details.reasons[data-code=not_dicom]")
    assert "day.zip/scans/notes.txt" in bad.inner_text() or "notes.txt" in bad.inner_text()
    assert page.locator(".thumbs img").count() == N_GOOD
    shot(page, "dataset")
    page.goto(f"{live_server.url}/datasets/")
    assert "Day dataset" in page.locator("table.datasets").inner_text()
    shot(page, "datasets")
    page.go_back()

    # Any image opens in the viewer, with its de-identified header.
    go(page, lambda: page.locator(".thumbs a").first.click())
    page.wait_for_selector("#viewport[data-rendered='1']", timeout=30_000)
    assert "PatientIdentityRemoved" in page.locator("table.tags").inner_text()
    shot(page, "dataset-image")

    # Set the study up on that dataset (the setup pages).
    page.goto(f"{live_server.url}/")
    go(page, lambda: page.get_by_role("link", name="New study").click())
    page.fill("input[name=name]", "Day study")
    page.select_option("select[name=dataset]", label="Day dataset")
    go(page, lambda: page.click("button:has-text('Create study')"))
    go(page, lambda: page.click("button:has-text('Apply')"))
    go(page, lambda: page.click("text=Dimensions"))
    page.fill("input[name=dim-0-key]", "overall")
    page.fill("input[name=dim-0-label]", "Overall quality")
    page.fill("input[name=dim-0-min_value]", "1")
    page.fill("input[name=dim-0-max_value]", "5")
    go(page, lambda: page.click("button:has-text('Save dimensions')"))
    go(page, lambda: page.click("text=People"))
    page.select_option("select[name=role]", "rater")
    page.fill("textarea[name=usernames]", names.RATER)
    go(page, lambda: page.click("button:has-text('Add')"))

    # Ratings arrive; the home page shows the rater finished.
    study = ReaderStudy.objects.get(name="Day study")
    for i, image in enumerate(study.images.order_by("pk")):
        rate(study, people[names.RATER], image, {"overall": 1 + i % 5})
    page.goto(f"{live_server.url}/")
    card = page.locator(f"li.study[data-study='{study.pk}']")
    counts = card.locator(".panel-counts").inner_text()
    assert f"{N_GOOD} / {N_GOOD} readings" in counts and "1 of 1 raters finished" in counts
    shot(page, "home")

    # Export the ratings CSV and download it; the SHA-256 shown is the file's.
    go(page, lambda: card.get_by_role("link", name="Exports").click())
    go(page, lambda: page.get_by_role("button", name="Ratings, long format (CSV)").click())
    row = page.locator("table.jobs tr[data-status=succeeded]").first
    row.wait_for(timeout=60_000)
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    csv_path = tmp_path / "ratings.csv"
    info.value.save_as(csv_path)
    assert len(csv_path.read_text().strip().splitlines()) == 1 + N_GOOD
    assert row.locator("code.sha").inner_text() == sha256(csv_path)

    # A split, with its per-part counts and patient grouping.
    page.fill("input[name=seed]", "7")
    go(page, lambda: page.get_by_role("button", name="Make split").click())
    split_row = page.locator("table.splits tbody tr").first
    assert "no patient in two parts" in split_row.inner_text()

    # The data card before freezing, then the release, its card and its zip.
    page.select_option("select[name=split]", index=1)
    go(page, lambda: page.get_by_role("button", name="Preview data card").click())
    assert "dataset release v1" in page.locator("#card-preview").inner_text()
    shot(page, "exports")
    go(page, lambda: page.get_by_role("button", name="Freeze release").click())
    page.wait_for_selector("table.releases tr[data-release='1'] a.button", timeout=60_000)
    shown_sha = page.locator("table.releases tr[data-release='1'] code.sha").inner_text()
    go(page, lambda: page.get_by_role("link", name="v1", exact=True).click())
    assert "dataset release v1" in page.locator("pre.data-card").inner_text()
    shot(page, "release")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download zip").click()
    zip_path = tmp_path / "release.zip"
    info.value.save_as(zip_path)
    assert sha256(zip_path) == shown_sha
    with zipfile.ZipFile(zip_path) as z:
        assert any(n.endswith("labels.csv") for n in z.namelist())

    # A rater meets the platform's error page, which says where to go.
    page.context.clear_cookies()
    login(page, names.RATER)
    assert page.goto(f"{live_server.url}/studies/{study.pk}/exports/").status == 403
    assert page.get_by_role("link", name="Back to my studies").is_visible()
    shot(page, "error-403")
