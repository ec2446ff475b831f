"""API routes of the ratings app, mounted under /api/v1/.

Each concern has its own module in ratings/api/; add its routes here, one line each.
"""

from rest_framework.routers import DefaultRouter

from .api import studies

router = DefaultRouter()
router.register("studies", studies.StudyViewSet, basename="study")

urlpatterns = [
    *router.urls,
]
