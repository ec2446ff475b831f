"""Researchers' training pages: runs and model versions, the launch form, a run's page.

Researchers (Action.TRAIN_MODELS) launch, cancel, retry and activate; coordinators
(Action.VIEW_RESULTS) follow; raters get 403 on the lists and 404 on a run. The work is done
by inference.runs (create_run) and the API, which the run page's script calls.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from inference import runs
from inference.models import ModelVersion, TrainingRun
from iqa_platform.jobs import FINISHED
from ratings.permissions import Action, can, studies_for

from .training_forms import LaunchForm, defaults_by_arch

PARTS = [("validation", "Validation"), ("test", "Test"), ("out_of_site", "Out of site (held out)")]
PART_COUNTS = {"validation": "val", "test": "test", "out_of_site": "out_of_site"}
REGRESSION_COLUMNS = [("pearson_r", "Pearson r"), ("mad", "MAD"), ("rmse", "RMSE"),
                      ("icc_a1", "ICC(A,1)"), ("icc_c1", "ICC(C,1)")]  # fmt: skip
CLASSIFIER_COLUMNS = [("accuracy", "Accuracy"), ("balanced_accuracy", "Balanced accuracy"),
                      ("auc", "AUC")]  # fmt: skip


def _columns(target: str) -> list[tuple[str, str]]:
    return REGRESSION_COLUMNS if target == "regression" else CLASSIFIER_COLUMNS


def headline(metrics: dict, target: str, part: str = "validation") -> str:
    """The figure a list shows: Pearson r (regression) or accuracy (classifiers) of a part."""
    validation = metrics.get(part) if isinstance(metrics, dict) else None
    if not isinstance(validation, dict):
        return ""
    key, label = _columns(target)[0]
    value = validation.get(key)
    return f"{label} {value:.3f}" if isinstance(value, int | float) else ""


# Which field of the form a RunRejected problem belongs to ("settings" names its field first).
PROBLEM_FIELDS = {"dimension", "arch", "target", "split", "hold_out_by", "hold_out", "study"}


def _followed(user):
    studies = studies_for(user, Action.VIEW_RESULTS)
    if not studies.exists():
        raise PermissionDenied("Training is for a study's researchers and coordinators.")
    return studies


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    studies = _followed(request.user)
    run_rows = TrainingRun.objects.filter(study__in=studies).select_related("study")[:200]
    version_rows = ModelVersion.objects.filter(study__in=studies).select_related("study")[:200]
    context = {
        "runs": [(run, headline(run.metrics, run.target)) for run in run_rows],
        "versions": [
            (v, headline(v.metrics, v.target), headline(v.metrics, v.target, "test"))
            for v in version_rows
        ],
        "may_train": studies_for(request.user, Action.TRAIN_MODELS).exists(),
    }
    return render(request, "frontend/training_runs.html", context)


@login_required
def launch(request: HttpRequest) -> HttpResponse:
    studies = studies_for(request.user, Action.TRAIN_MODELS)
    if not studies.exists():
        raise PermissionDenied("Only a study's researchers launch training runs.")
    form = LaunchForm(request.POST or None, studies=studies)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = runs.create_run(
                runs.RunRequest(
                    study=data["study"],
                    dimension_key=data["dimension"],
                    arch=data["arch"],
                    target=data["target"] or None,
                    split=data["split"],
                    hold_out_by=data["hold_out_by"],
                    hold_out=form.hold_out_values(),
                    settings=form.settings(),
                ),
                user=request.user,
            )
        except runs.RunRejected as rejected:
            _show_problems(form, rejected.problems)
        else:
            return redirect("training-run", run.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "defaults": defaults_by_arch()}
    return render(request, "frontend/training_new.html", context, status=status)


def _show_problems(form: LaunchForm, problems: dict[str, list[str]]) -> None:
    for key, messages in problems.items():
        for message in messages:
            field, _, rest = message.partition(": ")
            if key in PROBLEM_FIELDS:
                form.add_error(key, message)
            elif key == "settings" and field in form.fields and rest:
                form.add_error(field, rest[:1].upper() + rest[1:])
            else:
                form.add_error(None, message)


@login_required
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    visible = studies_for(request.user, Action.VIEW_RESULTS)
    run = (
        TrainingRun.objects.filter(study__in=visible, pk=pk)
        .select_related("study", "split", "model_version")
        .first()
    )
    if run is None:
        raise Http404("No such training run.")
    version = getattr(run, "model_version", None)
    finished = run.status in FINISHED
    columns = _columns(run.target)
    context = {
        "run": run,
        "version": version,
        "finished": finished,
        "may_control": can(request.user, run.study, Action.TRAIN_MODELS),
        "run_data": runs.run_state(run),
        "columns": [label for _, label in columns],
        "parts": [
            (
                label,
                run.metrics[part].get("n", run.counts.get(PART_COUNTS[part])),
                [run.metrics[part].get(key) for key, _ in columns],
            )
            for part, label in PARTS
            if isinstance(run.metrics.get(part), dict)
        ],
    }
    return render(request, "frontend/training_run.html", context)
