"""API routes of the imaging app, mounted under /api/v1/: datasets, uploads, ingest jobs."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, api_chunked

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
    path(
        "datasets/<int:pk>/upload-sessions/",
        api_chunked.UploadSessionCreateView.as_view(),
        name="upload-session-create",
    ),
    path(
        "upload-sessions/<str:sid>/",
        api_chunked.UploadSessionView.as_view(),
        name="upload-session",
    ),
    path(
        "upload-sessions/<str:sid>/files/<int:index>/",
        api_chunked.UploadChunkView.as_view(),
        name="upload-chunk",
    ),
    path(
        "upload-sessions/<str:sid>/finish/",
        api_chunked.UploadFinishView.as_view(),
        name="upload-finish",
    ),
    *router.urls,
]
