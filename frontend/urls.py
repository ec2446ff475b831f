"""Page routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import (
    audit,
    dashboard,
    datasets,
    exports,
    qc,
    reading,
    study_setup,
    training,
    training_report,
    views,
)

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("studies/<int:study_id>/read/", reading.reading_page, name="reading"),
    path("", views.home, name="home"),
    path("studies/<int:pk>/dashboard/", dashboard.study_dashboard, name="study-dashboard"),
    path(
        "studies/<int:pk>/dashboard/status/", dashboard.results_status, name="study-results-status"
    ),
    path("studies/<int:pk>/images/<int:image_pk>/", dashboard.image_ratings, name="image-ratings"),
    path("studies/<int:pk>/report/", dashboard.agreement_report, name="study-report"),
    path("studies/", dashboard.study_index, name="study-index"),
    path("studies/new/", study_setup.create, name="study-create"),
    path("studies/<int:pk>/setup/", study_setup.edit, name="setup-settings"),
    path("studies/<int:pk>/setup/state/", study_setup.change_state, name="setup-state"),
    path("studies/<int:pk>/setup/images/", study_setup.images, name="setup-images"),
    path("studies/<int:pk>/setup/dimensions/", study_setup.dimensions, name="setup-dimensions"),
    path("studies/<int:pk>/setup/members/", study_setup.members, name="setup-members"),
    path("studies/<int:pk>/setup/members/<int:mpk>/", study_setup.unseat, name="setup-remove"),
    path("studies/<int:pk>/audit/", audit.audit_page, name="study-audit-page"),
    path("studies/<int:pk>/exports/", exports.exports_page, name="exports-page"),
    path("studies/<int:pk>/exports/start/", exports.start_export, name="study-export-start"),
    path("studies/<int:pk>/exports/split/", exports.create_split, name="study-split"),
    path("studies/<int:pk>/exports/release/", exports.freeze_release, name="study-release"),
    path(
        "studies/<int:pk>/releases/<int:version>/",
        exports.release_page,
        name="study-release-page",
    ),
    path(
        "studies/<int:pk>/releases/<int:version>/download/",
        exports.release_download,
        name="study-release-download",
    ),
    path("qc/", qc.qc_index, name="qc-index"),
    path("studies/<int:pk>/qc/", qc.qc_page, name="study-qc"),
    path(
        "studies/<int:pk>/qc/images/<int:image_pk>/thumbnail/",
        qc.qc_thumbnail,
        name="study-qc-thumbnail",
    ),
    path("training/", training.run_list, name="training-runs"),
    path("training/new/", training.launch, name="training-new"),
    path("training/runs/<int:pk>/", training.run_page, name="training-run"),
    path(
        "training/versions/<int:pk>/report/",
        training_report.version_report,
        name="training-version-report",
    ),
    path("datasets/", datasets.dataset_index, name="dataset-index"),
    path("datasets/<int:pk>/", datasets.dataset_page, name="dataset-page"),
    path("datasets/<int:pk>/images/<int:image_pk>/", datasets.image_view, name="dataset-image"),
    path(
        "datasets/<int:pk>/images/<int:image_pk>/thumbnail/",
        datasets.thumbnail,
        name="dataset-thumbnail",
    ),
]
