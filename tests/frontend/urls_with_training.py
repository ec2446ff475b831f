"""The site's URLs plus a `training-runs` page, as the model half will add it."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("training/", lambda request: HttpResponse("runs"), name="training-runs"),
    path("", include("iqa_platform.urls")),
]
