"""Page views: thin, they gather what a template shows and hold no business logic."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ratings.permissions import Action, studies_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    studies = studies_for(request.user, Action.VIEW_STUDY).select_related("dataset")
    return render(request, "frontend/home.html", {"studies": studies})
