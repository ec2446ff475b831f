"""API routes of the inference app, mounted under /api/v1/: training runs, model versions,
inference jobs."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("training-runs", api.TrainingRunViewSet, basename="training-run")
router.register("model-versions", api.ModelVersionViewSet, basename="model-version")
router.register("inference-jobs", api.InferenceJobViewSet, basename="inference-job")

urlpatterns = [
    *router.urls,
    path(
        "studies/<int:study_id>/items/<str:item>/saliency/",
        api.item_saliency,
        name="reading-item-saliency",
    ),
    path(
        "studies/<int:pk>/assisted-comparison/",
        api.assisted_comparison,
        name="study-assisted-comparison",
    ),
]
