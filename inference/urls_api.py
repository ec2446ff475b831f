"""API routes of the inference app, mounted under /api/v1/: training runs, model versions,
inference jobs."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("training-runs", api.TrainingRunViewSet, basename="training-run")
router.register("model-versions", api.ModelVersionViewSet, basename="model-version")
router.register("inference-jobs", api.InferenceJobViewSet, basename="inference-job")

urlpatterns = router.urls
