"""Active-learning queries over the API: a researcher ranks a study's unrated images with a
model version and sends them to the raters, whose worklists then start with them, without a
reason; raters and coordinators cannot query; bad requests get a clear 400."""

import json

import pytest
from rest_framework.test import APIClient

from inference import runs
from inference.models import ActiveLearningQuery, ModelVersion
from ratings.models import StudyImage
from ratings.worklist import item_token
from tests.factories import names
from tests.inference.rated import N_IMAGES, make_rated_study

TINY = {"input_width": 32, "input_height": 48, "batch_size": 4, "seed": 3, "epochs": 2}
N_UNRATED = 6


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _train(study, user, **settings) -> ModelVersion:
    run = runs.create_run(
        runs.RunRequest(study, "gray-level", "convnet4", settings={**TINY, **settings}),
        user,
        queue=False,
    )
    runs.run_training(run.pk)
    return ModelVersion.objects.get(run=run)


@pytest.fixture
def study(people, tmp_path):
    return make_rated_study(people, tmp_path, n_unrated=N_UNRATED)


@pytest.fixture
def version(study, people):
    return _train(study, people[names.RESEARCHER], dropout=0.3)


def _unrated(study) -> set[int]:
    rated = set(study.assessments.values_list("image_id", flat=True))
    return set(study.images.values_list("id", flat=True)) - rated


def test_a_queried_image_moves_to_the_front_of_a_raters_worklist_without_a_reason(
    study, version, people
):
    researcher, alice = _client(people[names.RESEARCHER]), _client(people[names.RATER])
    base = f"/api/v1/model-versions/{version.pk}/queries/"
    response = researcher.post(base, {"strategy": "uncertainty", "k": 2, "seed": 1}, format="json")
    assert response.status_code == 201, response.content
    query = response.json()
    assert query["pool_size"] == N_UNRATED
    chosen = [item["image"] for item in query["items"]]
    assert len(chosen) == 2 and set(chosen) <= _unrated(study)
    assert [item["rank"] for item in query["items"]] == [1, 2]
    assert query["items"][0]["reason"].startswith("MC-dropout SD ")
    assert query["items"][0]["score"] >= query["items"][1]["score"] > 0
    assert researcher.get(base).json()["results"][0]["id"] == query["id"]
    assert researcher.get(f"{base}{query['id']}/").json()["items"] == query["items"]

    rater = people[names.RATER]
    tokens = {item_token(study.pk, rater.pk, i, 0): i for i in chosen}
    before = [i["item"] for i in alice.get(f"/api/v1/studies/{study.pk}/worklist/").json()["items"]]
    assert set(before[:2]) != set(tokens)  # (seed 1 and this rater: not already first)

    sent = researcher.post(f"{base}{query['id']}/send/")
    assert sent.status_code == 200 and sent.json()["sent_at"]
    worklist = alice.get(f"/api/v1/studies/{study.pk}/worklist/")
    after = [i["item"] for i in worklist.json()["items"]]
    assert set(after[:2]) == set(tokens)
    assert after[2:] == [t for t in before if t not in tokens]  # the rest keep their order
    # The rater is told nothing of why: no reason, score, strategy or priority anywhere.
    text = worklist.content.decode() + json.dumps(
        [alice.get(f"/api/v1/studies/{study.pk}/items/{t}/").json() for t in tokens]
    )
    reason = query["items"][0]["reason"]
    for secret in [reason, "MC-dropout", "uncertain", "priority", "strategy", "top "]:
        assert secret not in text
    # Sending twice changes nothing more.
    again = researcher.post(f"{base}{query['id']}/send/")
    assert again.status_code == 409 and again.json()["code"] == "already_sent"


def test_a_later_query_goes_before_an_earlier_one(study, version, people):
    researcher = _client(people[names.RESEARCHER])
    base = f"/api/v1/model-versions/{version.pk}/queries/"
    first = researcher.post(base, {"strategy": "random", "k": 2, "seed": 1}, format="json").json()
    second = researcher.post(base, {"strategy": "random", "k": 2, "seed": 2}, format="json").json()
    again = researcher.post(base, {"strategy": "random", "k": 2, "seed": 1}, format="json")
    assert again.json()["items"] == first["items"]  # seed-reproducible
    for query in (first, second):
        assert researcher.post(f"{base}{query['id']}/send/").status_code == 200
    priority = dict(StudyImage.objects.filter(study=study).values_list("image_id", "priority"))
    for item in second["items"]:
        assert priority[item["image"]] == 2
    others = {i["image"] for i in first["items"]} - {i["image"] for i in second["items"]}
    assert all(priority[i] == 1 for i in others)
    listed = researcher.get(base).json()  # paged, newest first
    assert listed["count"] == 3
    assert [q["id"] for q in listed["results"]][-2:] == [second["id"], first["id"]]


@pytest.mark.parametrize("strategy", ["diversity", "hybrid"])
def test_diversity_and_hybrid_rank_only_unrated_images(study, version, people, strategy):
    response = _client(people[names.RESEARCHER]).post(
        f"/api/v1/model-versions/{version.pk}/queries/", {"strategy": strategy, "k": 3},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    items = response.json()["items"]
    assert len({i["image"] for i in items}) == 3 and {i["image"] for i in items} <= _unrated(study)
    assert all("feature distance" in i["reason"] for i in items)


def test_ensemble_disagreement_uses_the_studys_other_versions(study, version, people):
    researcher = _client(people[names.RESEARCHER])
    base = f"/api/v1/model-versions/{version.pk}/queries/"
    alone = researcher.post(base, {"strategy": "ensemble", "k": 2}, format="json")
    assert alone.status_code == 400 and "at least two" in alone.json()["strategy"][0]
    other = _train(study, people[names.RESEARCHER], seed=9)
    response = researcher.post(base, {"strategy": "ensemble", "k": 2}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["options"]["ensemble"] == [version.pk, other.pk]
    assert response.json()["items"][0]["reason"].startswith("SD between 2 models")


def test_bad_requests_get_a_clear_400(study, version, people):
    researcher = _client(people[names.RESEARCHER])
    base = f"/api/v1/model-versions/{version.pk}/queries/"
    for body, field in [
        ({"strategy": "psychic", "k": 2}, "strategy"),
        ({"strategy": "random", "k": 0}, "k"),
        ({"strategy": "random"}, "k"),
        ({"strategy": "random", "k": "many"}, "k"),
        ({"strategy": "random", "k": 2, "seed": -1}, "seed"),
    ]:
        response = researcher.post(base, body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    plain = _train(study, people[names.RESEARCHER], seed=5)  # no dropout
    response = researcher.post(
        f"/api/v1/model-versions/{plain.pk}/queries/", {"strategy": "uncertainty", "k": 2},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "dropout" in response.json()["strategy"][0]
    assert researcher.get(f"{base}999999/").status_code == 404
    # The version's dimension renamed since training: a clear 400, not a 500 (found by
    # Schemathesis).
    study.dimensions.filter(key=version.dimension_key).update(key="renamed")
    response = researcher.post(base, {"strategy": "random", "k": 2}, format="json")
    assert response.status_code == 400 and "dimension" in response.json()


def test_a_fully_rated_study_has_nothing_to_ask(people, tmp_path):
    study = make_rated_study(people, tmp_path)
    version = _train(study, people[names.RESEARCHER])
    response = _client(people[names.RESEARCHER]).post(
        f"/api/v1/model-versions/{version.pk}/queries/", {"strategy": "random", "k": 2},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "Every image" in response.json()["pool"][0]
    assert len(study.images.all()) == N_IMAGES


@pytest.mark.parametrize(
    ("who", "expected"),
    [(names.RATER, 404), (names.RATER2, 404), (names.COORDINATOR, 403), (names.OUTSIDER, 404)],
)
def test_only_researchers_query_and_send(study, version, people, who, expected):
    query = ActiveLearningQuery.objects.create(
        model_version=version, study=study, dimension_key="gray-level", strategy="random", k=1,
        items=[{"rank": 1, "image": min(_unrated(study)), "label": "", "score": 0, "reason": "x"}],
    )  # fmt: skip
    client = _client(people[who])
    base = f"/api/v1/model-versions/{version.pk}/queries/"
    assert client.post(base, {"strategy": "random", "k": 1}, format="json").status_code == expected
    assert client.get(base).status_code == expected
    assert client.get(f"{base}{query.pk}/").status_code == expected
    assert client.post(f"{base}{query.pk}/send/").status_code == expected
    assert not StudyImage.objects.filter(study=study, priority__gt=0).exists()
    assert ActiveLearningQuery.objects.count() == 1


def test_mc_dropout_on_a_network_without_dropout_layers_is_a_400(study, people):
    # ResNet-10 has no dropout layer, whatever `dropout` its run's settings say.
    resnet = runs.create_run(
        runs.RunRequest(study, "gray-level", "resnet10",
                        settings={**TINY, "epochs": 1, "dropout": 0.3}),
        people[names.RESEARCHER], queue=False,
    )  # fmt: skip
    runs.run_training(resnet.pk)
    version = ModelVersion.objects.get(run=resnet)
    for strategy in ("uncertainty", "hybrid"):
        response = _client(people[names.RESEARCHER]).post(
            f"/api/v1/model-versions/{version.pk}/queries/", {"strategy": strategy, "k": 2},
            format="json",
        )  # fmt: skip
        assert response.status_code == 400, response.content
        assert "no dropout layer" in response.json()["strategy"][0]
