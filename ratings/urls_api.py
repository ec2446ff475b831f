"""API routes of the ratings app, mounted under /api/v1/.

Each concern has its own module in ratings/api/; add its routes here, one line each.
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import item_files
from .api import audit, exports, reading, results, studies

router = DefaultRouter()
router.register("studies", studies.StudyViewSet, basename="study")
router.register("exports", exports.ExportJobViewSet, basename="export")
router.register(
    r"studies/(?P<study_pk>\d+)/dimensions",
    studies.StudyDimensionViewSet,
    basename="study-dimension",
)

urlpatterns = [
    path("studies/<int:pk>/agreement/", results.AgreementView.as_view(), name="study-agreement"),
    path("studies/<int:pk>/mos/", results.MosView.as_view(), name="study-mos"),
    path("studies/<int:pk>/progress/", results.ProgressView.as_view(), name="study-progress"),
    path("studies/<int:pk>/audit/", audit.StudyAuditView.as_view(), name="study-audit"),
    path("studies/<int:pk>/exports/", exports.StudyExportsView.as_view(), name="study-exports"),
    path(
        "studies/<int:pk>/exports/ratings.<str:fmt>",
        exports.StreamRatingsView.as_view(),
        name="study-ratings-stream",
    ),
    *router.urls,
    path("studies/<int:study_id>/worklist/", reading.worklist, name="reading-worklist"),
    path("studies/<int:study_id>/items/<str:item>/", reading.item_info, name="reading-item"),
    path(
        "studies/<int:study_id>/items/<str:item>/file/",
        item_files.item_file,
        name="reading-item-file",
    ),
    path("studies/<int:study_id>/assessments/", reading.assessments, name="reading-assessments"),
    path(
        "studies/<int:study_id>/assessments/<str:client_id>/",
        reading.assessment_detail,
        name="reading-assessment",
    ),
]
