"""URL map: pages, the API under /api/v1/, the WADO-URI endpoint, admin and the OpenAPI schema."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("imaging.urls_api")),
    path("api/v1/", include("ratings.urls_api")),
    path("api/v1/", include("inference.urls_api")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("wado/", include("imaging.urls_wado")),
    path("", include("frontend.urls")),
]
