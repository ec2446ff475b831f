"""Page routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import dashboard, reading, study_setup, views

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
]
