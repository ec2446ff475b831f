"""API routes of the imaging app, mounted under /api/v1/: datasets, uploads, ingest jobs."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("ingest-jobs", api.IngestJobViewSet, basename="ingest-job")

urlpatterns = [
    path("datasets/<int:pk>/uploads/", api.UploadView.as_view(), name="dataset-upload"),
    path(
        "datasets/<int:dataset_pk>/images/",
        api.DatasetImageViewSet.as_view({"get": "list"}),
        name="dataset-images",
    ),
    *router.urls,
]
