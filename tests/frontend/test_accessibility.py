"""The pages raters and coordinators use pass axe-core's WCAG 2 A/AA checks in Chromium.

axe-core comes from npm (a pinned devDependency in package.json); nothing of it is copied here.
"""

from pathlib import Path

import pytest

from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}

RUN_AXE = """async () => {
    const results = await axe.run(
        document,
        {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}, resultTypes: ["violations"]},
    );
    return {
        passes: results.passes.length,
        violations: results.violations.map(v => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
        })),
    };
}"""


def axe_violations(page) -> list[dict]:
    """Serious and critical WCAG 2 A/AA violations axe finds on the page as it is now."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (axe-core is a devDependency)")
    # Not a <script> tag: the pages' CSP (script-src 'self') blocks an inline script, while
    # Playwright's evaluate runs outside the page's policy.
    page.evaluate(AXE_JS.read_text())
    assert page.evaluate("() => typeof window.axe") == "object", "axe-core was not injected"
    results = page.evaluate(RUN_AXE)
    # resultTypes limits the node lists of passes to one each; a page where nothing was checked
    # would mean axe ran on an empty document.
    assert results["passes"] > 0, "axe checked nothing"
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(where: str, violations: list[dict]) -> str:
    lines = [f"{where}: {len(violations)} serious/critical WCAG 2 A/AA violation(s)"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}, {len(v['nodes'])} element(s)): {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_accessible(page, where: str):
    violations = axe_violations(page)
    assert not violations, describe(where, violations)


def test_the_login_page(live_server, page, people):
    page.goto(f"{live_server.url}/login/")
    assert_accessible(page, "/login/")
    page.fill("input[name=username]", names.RATER)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page, "/login/ after a wrong password")


def rated_pages(study) -> list[tuple[str, str]]:
    """(who, url) for the pages of a study with ratings, each seen by the one who uses it."""
    image = study.images.order_by("pk").first()
    return [
        (names.RATER, "/"),
        (names.COORDINATOR, "/"),
        (names.COORDINATOR, "/studies/"),
        (names.COORDINATOR, f"/studies/{study.pk}/dashboard/"),
        (names.COORDINATOR, f"/studies/{study.pk}/dashboard/?dimension=sharpness"),
        (names.COORDINATOR, f"/studies/{study.pk}/images/{image.pk}/"),
        (names.COORDINATOR, f"/studies/{study.pk}/report/"),
        (names.COORDINATOR, f"/studies/{study.pk}/setup/"),
        (names.COORDINATOR, f"/studies/{study.pk}/setup/images/"),
        (names.COORDINATOR, f"/studies/{study.pk}/setup/dimensions/"),
        (names.COORDINATOR, f"/studies/{study.pk}/setup/members/"),
        (names.COORDINATOR, f"/studies/{study.pk}/audit/"),
        (names.COORDINATOR, "/qc/"),
        (names.COORDINATOR, f"/studies/{study.pk}/qc/"),
        (names.STAFF, "/studies/new/"),
    ]


def test_the_dashboard_results_and_setup_pages(live_server, page, login, rated, people):
    from inference.models import Prediction
    from tests.inference.tiny_versions import make_version

    # The QC page with a flagged image (no thumbnail: the "no preview" cell).
    version = make_version(rated, active=True, qc_threshold=5.0)
    Prediction.objects.create(
        image=rated.images.order_by("pk").first(), model_version=version, score=3.2,
        qc_value=3.2, uncertainty=0.4, flagged=True, seconds=0.3,
    )  # fmt: skip
    failures = []
    current = None
    for who, url in rated_pages(rated):
        if who != current:
            page.context.clear_cookies()
            login(page, who)
            current = who
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        page.wait_for_load_state("load")
        violations = axe_violations(page)
        if violations:
            failures.append(describe(f"{url} as {who}", violations))
    assert not failures, "\n\n".join(failures)


def wait_rendered(page, count: int):
    page.wait_for_function(
        "n => window.__iqa && window.__iqa.rendered >= n", arg=count, timeout=20_000
    )


def test_the_reading_page_in_each_state_a_rater_meets(live_server, page, login, people, tmp_path):
    study = make_reading_study(people, chest_dataset(tmp_path, 2))
    url = f"/studies/{study.pk}/read/"
    login(page, names.RATER)
    assert_accessible(page, "/ with a study to start")
    page.get_by_role("link", name="Start").click()
    wait_rendered(page, 1)
    # cornerstone's canvas lives inside #viewport, which is named as one image: axe flags
    # nothing in the library's DOM, so nothing is excluded.
    assert_accessible(page, url)

    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert_accessible(page, f"{url} with the shortcuts help open")
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()

    page.keyboard.press("s")
    assert page.locator("#skip-dialog").is_visible()
    assert_accessible(page, f"{url} with the skip dialog open")
    page.keyboard.press("Escape")

    # Scored, with every dimension's criteria shown.
    for key in ["7", "Tab", "6", "Tab", "1", "c"]:
        page.keyboard.press(key)
    assert page.locator("button.opt.selected").count() == 3
    assert_accessible(page, f"{url} with the image scored and the criteria shown")

    # Back to the rated image: the panel says it is a change.
    page.keyboard.press("Enter")
    wait_rendered(page, 2)
    page.keyboard.press("ArrowLeft")
    wait_rendered(page, 3)
    assert page.locator("#mode").is_visible()
    assert_accessible(page, f"{url} changing an earlier rating")

    # Everything finished: the done screen.
    page.keyboard.press("Enter")
    wait_rendered(page, 4)
    for key in ["5", "Tab", "5", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    page.locator("#done").wait_for(state="visible")
    assert_accessible(page, f"{url} with every image finished")


def test_the_coordinator_pages(live_server, page, login, people, tmp_path):
    """Home, datasets, a dataset with an import report, the image viewer, exports with a
    job, a split and a previewed data card, a release, and the 403 / 404 pages."""
    from imaging.models import IngestJob
    from iqa_platform.jobs import JobStatus
    from ratings.models import Membership, Role
    from ratings.results import jobs
    from ratings.results.release import build_zip, create_release
    from ratings.results.splits import make_split
    from tests.factories import rate

    study = make_reading_study(people, chest_dataset(tmp_path, 3))
    Membership.objects.create(user=people[names.RESEARCHER], study=study, role=Role.RESEARCHER)
    dataset, image = study.dataset, study.images.order_by("pk").first()
    for i, img in enumerate(study.images.order_by("pk")):
        rate(
            study, people[names.RATER], img, {"gray-level": 3 + i, "sharpness": 5, "acceptable": 1}
        )
    IngestJob.objects.create(
        dataset=dataset,
        upload_dir=str(tmp_path / "gone"),
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        report={
            "summary": {"files": 2, "imported": 1, "skipped": 1, "images_created": 1},
            "files": [
                {"name": "a.dcm", "status": "imported", "reason_code": "", "reason": ""},
                {
                    "name": "b.txt",
                    "status": "skipped",
                    "reason_code": "not_dicom",
                    "reason": "Not a DICOM file.",
                },
            ],
        },  # fmt: skip
    )
    job = jobs.create_export(study, "ratings_csv", {}, people[names.COORDINATOR])
    jobs.run_export_job(job.pk)
    split = make_split(study=study, ratios=(0.6, 0.2, 0.2), seed=1)
    build_zip(create_release(study, split))

    failures = []

    def check(url: str, who: str, status: int = 200, ready=None):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == status, url
        page.wait_for_load_state("load")
        if ready:
            ready()
        if violations := axe_violations(page):
            failures.append(describe(f"{url} as {who}", violations))

    login(page, names.COORDINATOR)
    for url in ["/", "/datasets/", f"/datasets/{dataset.pk}/", f"/studies/{study.pk}/exports/"]:
        check(url, names.COORDINATOR)
    check(
        f"/datasets/{dataset.pk}/images/{image.pk}/",
        names.COORDINATOR,
        ready=lambda: page.wait_for_selector("#viewport[data-rendered='1']", timeout=20_000),
    )
    page.goto(f"{live_server.url}/studies/{study.pk}/exports/")
    page.get_by_role("button", name="Preview data card").click()
    page.wait_for_selector("#card-preview")
    if violations := axe_violations(page):
        failures.append(describe("exports with a previewed data card", violations))
    check(f"/studies/{study.pk}/releases/1/", names.COORDINATOR)
    page.context.clear_cookies()
    login(page, names.RESEARCHER)
    check(f"/studies/{study.pk}/exports/", names.RESEARCHER)
    page.context.clear_cookies()
    login(page, names.RATER)
    check("/datasets/", names.RATER, status=403)
    check("/no/such/page/", names.RATER, status=404)
    assert not failures, "\n\n".join(failures)
