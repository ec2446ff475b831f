"""A model version's report page: the model against the experts per split part, with figures,
subgroups and the worst disagreements. Researchers and coordinators of the version's study.

Predictions are computed live (inference.compare.model_expert_pairs): the page takes seconds.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from inference import compare
from inference.models import ModelVersion
from ratings.models import DimensionKind
from ratings.permissions import Action, studies_for
from ratings.results import compare_figures as figures

PARTS = [("train", "Training"), ("val", "Validation"), ("test", "Test"), ("all", "All images")]
WORST = 10


def _pairs_of(gathered: compare.Pairs, part: str) -> list[compare.Pair]:
    return [p for p in gathered.pairs if part == "all" or p.part == part]


def _figures(report: dict[str, Any], pairs: list[compare.Pair]) -> dict[str, str]:
    model = [p.model for p in pairs]
    expert = [p.expert for p in pairs]
    out = {}
    if len(pairs) >= 1:
        out["scatter"] = figures.scatter_with_lines(
            model, expert, report["regression"], pearson_r=report["paired"]["pearson_r"]
        )
        out["bland_altman"] = figures.bland_altman_with_ci(model, expert, report["bland_altman"])
    if report["roc"]:
        out["roc"] = figures.roc_curve(report["roc"])
    if report["confusion"]:
        out["confusion"] = figures.confusion_matrix(report["confusion"])
    return out


def _subgroup_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, groups in report["subgroups"].items():
        if len(groups) < 2 and "unknown" in groups:
            continue  # nobody recorded this attribute: no breakdown to show
        for value, block in groups.items():
            rows.append({"key": key, "value": value, **block})
    return rows


@login_required
def version_report(request: HttpRequest, pk: int) -> HttpResponse:
    visible = studies_for(request.user, Action.VIEW_RESULTS)
    version = (
        ModelVersion.objects.filter(study__in=visible, pk=pk).select_related("study", "run").first()
    )
    if version is None:
        raise Http404("No such model version.")
    study = version.study
    part = request.GET.get("part") or "test"
    label_dimension = request.GET.get("label_dimension") or None
    binary = list(
        study.dimensions.filter(kind=DimensionKind.BINARY)
        .order_by("order", "pk")
        .values_list("key", flat=True)
    )
    context: dict[str, Any] = {
        "version": version,
        "study": study,
        "part_choices": PARTS,
        "part": part,
        "binary_dimensions": binary,
        "label_dimension": label_dimension or "",
    }
    try:
        if part not in dict(PARTS):
            raise compare.CompareError(f"part: one of {', '.join(dict(PARTS))}")
        label_key, labels = compare.binary_labels(study, label_dimension)
        gathered = compare.model_expert_pairs(version, study, version.dimension_key, "")
    except compare.ScoringError as error:
        context["error"] = str(error)
        return render(request, "frontend/training_report.html", context, status=409)
    except compare.CompareError as error:
        context["error"] = str(error)
        return render(request, "frontend/training_report.html", context, status=400)

    labels_or_none = labels if label_key else None
    rows, reports = [], {}
    for key, name in PARTS:
        pairs = _pairs_of(gathered, key)
        if pairs or key in ("all", part):
            reports[key] = compare.report_from_pairs(pairs, gathered.classes, labels_or_none)
            rows.append({"key": key, "name": name, **reports[key]})
    chosen = _pairs_of(gathered, part)
    report = reports[part]
    worst = sorted(chosen, key=lambda p: -abs(p.model - p.expert))[:WORST]
    context.update(
        label_key=label_key,
        rows=rows,
        report=report,
        part_name=dict(PARTS)[part],
        figures=_figures(report, chosen) if chosen else {},
        subgroups=_subgroup_rows(report),
        worst=[{"pair": p, "diff": p.model - p.expert} for p in worst],
        model_s=gathered.model_s_per_image,
        experts=compare.expert_timing(study, [p.image_id for p in chosen]),
        n_without_expert=gathered.n_without_expert,
        icc_forms=[(k, report["icc"][k]) for k in ("ICC2", "ICC3", "ICC1", "ICC2k")],
    )
    return render(request, "frontend/training_report.html", context)
