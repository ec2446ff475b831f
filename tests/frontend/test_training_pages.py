"""Researchers' training pages: launch a run from the browser, watch it train on a real worker,
read its curves and metrics; coordinators follow; raters see none of it."""

from pathlib import Path

import pytest

from inference.models import TrainingRun
from iqa_platform.jobs import JobStatus
from tests.factories import names
from tests.frontend.test_accessibility import axe_violations, describe
from tests.frontend.test_page_csp import directives
from tests.inference.rated import make_rated_study

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _run(study, **extra) -> TrainingRun:
    fields = {"study": study, "dimension_key": "gray-level", "target": "regression",
              "arch": "convnet4", "status": JobStatus.FAILED,
              "error": "The worker died."}  # fmt: skip
    fields.update(extra)
    return TrainingRun.objects.create(**fields)


def _pages(run) -> list[str]:
    return ["/training/", "/training/new/", f"/training/runs/{run.pk}/"]


@pytest.mark.django_db
def test_raters_and_outsiders_get_403_or_404_on_every_training_page(client, study, people):
    run = _run(study)
    for name in (names.RATER, names.OUTSIDER):
        client.force_login(people[name])
        assert client.get("/training/").status_code == 403, name
        assert client.get("/training/new/").status_code == 403, name
        assert client.post("/training/new/", {"study": study.pk}).status_code == 403, name
        assert client.get(f"/training/runs/{run.pk}/").status_code == 404, name
        assert "/training/" not in client.get("/").content.decode()
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_coordinators_follow_runs_but_launch_and_control_nothing(client, study, people):
    run = _run(study)
    client.force_login(people[names.COORDINATOR])
    listing = client.get("/training/").content.decode()
    assert f"/training/runs/{run.pk}/" in listing and "New training run" not in listing
    assert client.get("/training/new/").status_code == 403
    page = client.get(f"/training/runs/{run.pk}/").content.decode()
    assert "The worker died." in page and "/retry/" not in page
    client.force_login(people[names.RESEARCHER])
    assert (
        f"/api/v1/training-runs/{run.pk}/retry/"
        in client.get(f"/training/runs/{run.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_the_pages_allow_only_our_own_scripts(client, study, people):
    client.force_login(people[names.RESEARCHER])
    for url in _pages(_run(study)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert directives(response["Content-Security-Policy"])["script-src"] == "'self'", url


@pytest.mark.django_db
def test_a_refused_launch_shows_its_problems_on_the_fields(client, study, people):
    client.force_login(people[names.RESEARCHER])
    form = {"study": study.pk, "dimension": "gray-level", "arch": "convnet4", "epochs": 0,
            "batch_size": 4, "lr": 0.001, "input_width": 32, "input_height": 48, "seed": 1,
            "dropout": 0, "balance": "none", "hold_out": "site-a"}  # fmt: skip
    response = client.post("/training/new/", form)
    assert response.status_code == 400
    html = response.content.decode()
    # create_run refuses the hold-out values first (whole), then the settings.
    assert "Say what the held-out values are" in html
    form.update(hold_out="")
    response = client.post("/training/new/", form)
    errors = response.context["form"].errors
    assert response.status_code == 400 and "between 1 and 1000" in errors["epochs"][0]
    form.update(epochs=2, dimension="acceptable", target="regression")
    errors = client.post("/training/new/", form).context["form"].errors
    assert "cannot be a regression target" in errors["target"][0]
    assert not TrainingRun.objects.exists()


@pytest.mark.browser
@pytest.mark.worker
def test_a_researcher_launches_a_run_and_watches_it_train(
    live_server, page, login, people, tmp_path, celery_worker
):
    study = make_rated_study(people, tmp_path)
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    failures = []

    def accessible(where: str):
        if found := axe_violations(page):
            failures.append(describe(where, found))

    login(page, names.RESEARCHER)
    page.get_by_role("link", name="Training").first.click()
    page.wait_for_load_state("load")
    accessible("/training/ with no run")
    page.get_by_role("link", name="New training run").click()
    page.wait_for_load_state("load")
    field = page.locator
    # The papers' defaults follow the architecture.
    assert field("#id_arch").input_value() == "convnet4"
    assert field("#id_batch_size").input_value() == "16"
    page.select_option("#id_arch", "cahdc-rga")
    assert field("#id_batch_size").input_value() == "8"
    assert field("#id_input_height").input_value() == "768"
    page.select_option("#id_arch", "iqm-linear")
    assert field("#id_epochs").input_value() == "1" and field("#id_lr").input_value() == "0"
    page.select_option("#id_arch", "convnet4")
    assert field("#id_input_width").input_value() == "512"
    accessible("/training/new/")

    page.select_option("#id_study", str(study.pk))
    page.select_option("#id_dimension", "gray-level")
    for name, value in {"epochs": "2", "batch_size": "4", "input_width": "32",
                        "input_height": "48", "seed": "3"}.items():  # fmt: skip
        page.fill(f"#id_{name}", value)
    with page.expect_navigation():
        page.get_by_role("button", name="Launch training run").click()
    run = TrainingRun.objects.get()
    assert page.url.endswith(f"/training/runs/{run.pk}/")
    assert (
        run.config["input_width"] == 32
        and run.n_epochs == 2
        and run.created_by == people[names.RESEARCHER]
    )

    # The page follows the worker and reloads itself when the run ends.
    page.wait_for_selector("#run-status.status-succeeded", timeout=300_000)
    page.wait_for_load_state("load")
    assert page.locator("#curves svg path.line").count() >= 3  # train, val loss, Pearson r, MAD
    assert page.locator("#run-epoch").inner_text() == "2 / 2"
    rows = page.locator("table.metrics tbody tr")
    assert rows.first.locator("th").inner_text() == "Validation"
    pearson = rows.first.locator("td").nth(1).inner_text()
    assert pearson != "—" and -1 <= float(pearson) <= 1
    assert page.get_by_role("link", name="Download checkpoint").is_visible()
    accessible(f"/training/runs/{run.pk}/ succeeded")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "training-run.png"), full_page=True)

    page.get_by_role("button", name="Activate").click()
    page.get_by_text("Active", exact=True).wait_for()
    assert run.model_version.__class__.objects.get(run=run).is_active
    page.goto(f"{live_server.url}/training/")
    assert page.locator("tr[data-version] .active-flag").count() == 1
    accessible("/training/ with a run and a version")

    # A long run: the page shows its epochs and curves as they come (no reload), and stops it.
    page.get_by_role("link", name="New training run").click()
    page.select_option("#id_study", str(study.pk))
    for name, value in {"epochs": "300", "batch_size": "4", "input_width": "32",
                        "input_height": "48"}.items():  # fmt: skip
        page.fill(f"#id_{name}", value)
    with page.expect_navigation():
        page.get_by_role("button", name="Launch training run").click()
    assert page.locator("#run-epoch").inner_text() == "0 / 300"
    page.evaluate("() => { window.__samePage = true; }")
    page.wait_for_selector("#curves svg path.line", timeout=120_000)
    assert page.evaluate("() => window.__samePage") is True
    assert page.locator("#run-status").inner_text() == "running"
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector("#run-status.status-cancelled", timeout=60_000)
    assert page.get_by_role("button", name="Retry").is_visible()
    assert page.locator("#curves svg path.line").count() >= 1  # the epochs it had, still drawn
    assert violations == []
    assert not failures, "\n\n".join(failures)
