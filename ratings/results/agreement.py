"""The agreement report of a study as files: JSON from ratings.stats, HTML from the dashboard."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ..models import ReaderStudy
from .study_data import study_report


def study_agreement_report(study: ReaderStudy, screen: bool = False) -> dict[str, Any]:
    """The agreement report (contract: ratings/stats/report.py) of the submitted ratings."""
    return study_report(study, screen=screen)


def agreement_html(study: ReaderStudy) -> str:
    """The dashboard's self-contained HTML report (inline CSS and SVG figures) as text."""
    from . import dashboard  # the dashboard's service builds the page's content

    context = dashboard.full_report(study)
    context.update(study=study, generated_at=timezone.now())
    return render_to_string("frontend/report.html", context)
