"""A model version trained (in this process, one short epoch) on the small rated study, for the
model-versus-expert report's command, API and page tests."""

from inference.models import ModelVersion
from inference.runs import RunRequest, create_run, run_training
from ratings.models import Assessment, RaterProfile, Rating
from tests.factories import names

TINY = {"input_width": 32, "input_height": 48, "batch_size": 4, "seed": 3, "epochs": 1}


def train_version(study) -> ModelVersion:
    run = create_run(
        RunRequest(study=study, dimension_key="gray-level", arch="convnet4", settings=TINY),
        queue=False,
    )
    run_training(run.pk)
    return ModelVersion.objects.get(run=run)


def time_the_readings(study, people) -> None:
    """The first rater is a radiologist reading in 10 s, the second a radiographer in 4 s."""
    for user, profession, ms in ((names.RATER, "radiologist", 10000),
                                 (names.RATER2, "radiographer", 4000)):  # fmt: skip
        RaterProfile.objects.update_or_create(
            user=people[user], defaults={"pseudonym": f"p-{user}", "profession": profession}
        )
        Assessment.objects.filter(study=study, rater=people[user]).update(active_ms=ms)


def judge_acceptable(study) -> None:
    """Every reader calls an image acceptable (1) when they gave it a gray-level of 6 or more."""
    dims = {d.key: d for d in study.dimensions.all()}
    Rating.objects.bulk_create(
        Rating(
            assessment_id=rating.assessment_id,
            dimension=dims["acceptable"],
            value=int(rating.value >= 6),
        )
        for rating in Rating.objects.filter(assessment__study=study, dimension=dims["gray-level"])
    )
