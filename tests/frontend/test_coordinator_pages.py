"""The coordinator pages as each role meets them: who sees what, and clear errors."""

import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.views.defaults import server_error

from ratings.models import DatasetRelease, ExportJob, Split
from ratings.permissions import STUDY_MANAGERS
from tests.factories import make_dataset, make_image, names, rate

pytestmark = pytest.mark.django_db


def new_pages(study) -> list[tuple[str, str]]:
    """(method, url) of every page this work added, for the study's dataset and first image."""
    dataset, image = study.dataset, study.images.order_by("pk").first()
    return [
        ("get", "/datasets/"),
        ("post", "/datasets/"),
        ("get", f"/datasets/{dataset.pk}/"),
        ("get", f"/datasets/{dataset.pk}/images/{image.pk}/"),
        ("get", f"/datasets/{dataset.pk}/images/{image.pk}/thumbnail/"),
        ("get", f"/studies/{study.pk}/exports/"),
        ("post", f"/studies/{study.pk}/exports/start/"),
        ("post", f"/studies/{study.pk}/exports/split/"),
        ("post", f"/studies/{study.pk}/exports/release/"),
        ("get", f"/studies/{study.pk}/releases/1/"),
        ("get", f"/studies/{study.pk}/releases/1/download/"),
    ]


def test_a_rater_gets_403_or_404_on_every_new_page(client, study, people):
    client.force_login(people[names.COORDINATOR])
    for method, url in new_pages(study):
        if method == "get" and "/releases/" not in url and "thumbnail" not in url:
            assert client.get(url).status_code == 200, url  # the page is there for its users
    client.force_login(people[names.RATER])
    for method, url in new_pages(study):
        response = getattr(client, method)(url, {"name": "x", "kind": "ratings_csv"})
        assert response.status_code in (403, 404), (method, url, response.status_code)


def test_a_raters_home_shows_only_reading_work(client, study, people):
    client.force_login(people[names.RATER])
    html = client.get("/").content.decode()
    assert f"/studies/{study.pk}/read/" in html
    for absent in ("/dashboard/", "/setup/", "/exports/", "/datasets/", "New study", "readings ·"):
        assert absent not in html, absent


def test_the_coordinators_home_shows_progress_and_actions(client, study, people):
    images = list(study.images.order_by("pk"))
    for image in images:  # alice finishes, bob reads one image
        rate(study, people[names.RATER], image, {"gray-level": 5})
    rate(study, people[names.RATER2], images[0], {"gray-level": 6})
    client.force_login(people[names.COORDINATOR])
    html = client.get("/").content.decode()
    assert "<strong>4</strong> / 6 readings" in html
    assert "<strong>1</strong> of 2 raters finished" in html
    for action in ("dashboard", "setup", "exports"):
        assert f"/studies/{study.pk}/{action}/" in html
    # The study's "Training" action is the researchers'; coordinators follow runs, versions,
    # reports and QC through the navigation's "Models" link.
    assert ">Training<" not in html and "/training/new/" not in html
    assert 'href="/training/">Models' in html


def test_researchers_get_releases_and_training_links(client, study, people):
    client.force_login(people[names.RESEARCHER])
    html = client.get("/").content.decode()
    assert ">Training<" in html and ">Releases<" in html and "/setup/" not in html
    client.force_login(people[names.COORDINATOR])
    assert ">Training<" not in client.get("/").content.decode()


def test_a_coordinator_without_a_study_gets_a_first_step(client, people):
    carol = people[names.COORDINATOR]
    carol.groups.add(Group.objects.get_or_create(name=STUDY_MANAGERS)[0])
    client.force_login(carol)
    html = client.get("/").content.decode()
    assert "First steps" in html and "Create a study" in html and "Upload images" in html


def test_study_managers_may_create_datasets_and_studies(client, people):
    carol = people[names.COORDINATOR]
    client.force_login(carol)
    assert client.get("/studies/new/").status_code == 403
    assert client.get("/datasets/").status_code == 403
    carol.groups.add(Group.objects.get_or_create(name=STUDY_MANAGERS)[0])
    assert client.get("/studies/new/").status_code == 200
    response = client.post("/datasets/", {"name": "Knees"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert client.post("/datasets/", {"name": "Knees"}).status_code == 400  # taken


def test_error_pages_say_what_happened_and_where_to_go(client, study, people):
    client.force_login(people[names.RATER])
    forbidden = client.get(f"/studies/{study.pk}/exports/")
    assert forbidden.status_code == 403
    assert b"You may not open this page" in forbidden.content
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and b"Nothing here" in missing.content
    for response in (forbidden, missing):
        assert b"Back to my studies" in response.content and b"base.css" in response.content
    broken = server_error(RequestFactory().get("/"))
    assert broken.status_code == 500 and b"Something went wrong on our side" in broken.content


def test_researchers_see_releases_but_not_the_coordinators_tools(client, study, people):
    client.force_login(people[names.RESEARCHER])
    html = client.get(f"/studies/{study.pk}/exports/").content.decode()
    assert "Releases" in html and "Make split" not in html and "Freeze release" not in html
    assert (
        client.post(f"/studies/{study.pk}/exports/start/", {"kind": "ratings_csv"}).status_code
        == 403
    )


def test_exports_page_starts_jobs_and_refuses_bad_input(client, study, people):
    client.force_login(people[names.COORDINATOR])
    url = f"/studies/{study.pk}/exports/"
    assert client.post(f"{url}start/", {"kind": "mos_csv"}).status_code == 302
    assert ExportJob.objects.filter(study=study, kind="mos_csv").count() == 1
    assert client.post(f"{url}start/", {"kind": "release"}).status_code == 302
    assert ExportJob.objects.filter(study=study).count() == 1  # not a button kind
    bad = client.post(f"{url}split/", {"train": 0, "val": 0, "test": 0, "seed": 1,
                                        "stratify_by": "none", "n_bins": 3})  # fmt: skip
    assert bad.status_code == 400 and "not all zero" in bad.content.decode()
    no_dim = client.post(f"{url}split/", {"train": 1, "val": 1, "test": 1, "seed": 1,
                                           "stratify_by": "mos_bins", "n_bins": 3})  # fmt: skip
    assert no_dim.status_code == 400 and "Choose the dimension" in no_dim.content.decode()
    assert not Split.objects.exists()
    preview = client.post(f"{url}release/", {"image_format": "dicom", "preview": "1"})
    assert preview.status_code == 200 and "dataset release v1" in preview.content.decode()
    assert not DatasetRelease.objects.exists()  # a preview freezes nothing
    bad_png = client.post(f"{url}release/", {"image_format": "png", "png_size": 5})
    assert bad_png.status_code == 400


def test_the_grid_pages_by_id_and_filters(client, people):
    carol = people[names.COORDINATOR]
    dataset = make_dataset(n_images=0)
    dataset.created_by = carol
    dataset.save()
    for i in range(130):
        make_image(dataset, modality="CT" if i % 2 else "MR", manufacturer="Acme")
    client.force_login(carol)
    first = client.get(f"/datasets/{dataset.pk}/")
    images = first.context["page"]["images"]
    assert len(images) == 60 and first.context["counts"]["total"] == 130
    after = first.context["page"]["next_after"]
    second = client.get(f"/datasets/{dataset.pk}/?after={after}").context["page"]
    assert second["images"][0].pk > images[-1].pk and second["previous_before"]
    back = client.get(f"/datasets/{dataset.pk}/?before={second['previous_before']}")
    assert [i.pk for i in back.context["page"]["images"]] == [i.pk for i in images]
    ct = client.get(f"/datasets/{dataset.pk}/?modality=CT").context["page"]["images"]
    assert {i.modality for i in ct} == {"CT"}
    assert dict(first.context["counts"]["by_modality"]) == {"CT": 65, "MR": 65}
    assert client.get(f"/datasets/{dataset.pk}/?after=x").status_code == 200  # bad cursor: page 1
