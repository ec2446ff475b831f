"""The WADO-URI endpoint (DICOM PS3.18): GET /wado/?requestType=WADO&objectUID=..."""

from django.urls import path

from . import wado

urlpatterns = [path("", wado.wado_uri, name="wado-uri")]
