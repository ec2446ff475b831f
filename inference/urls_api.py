"""API routes of the inference app, mounted under /api/v1/: training runs, model versions."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("training-runs", api.TrainingRunViewSet, basename="training-run")
router.register("model-versions", api.ModelVersionViewSet, basename="model-version")

urlpatterns = router.urls
