"""WADO-URI: streams a de-identified DICOM instance to a user allowed to see it."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from .access import get_image_file

DICOM_CONTENT_TYPE = "application/dicom"


@require_GET
@login_required
def wado_uri(request: HttpRequest) -> HttpResponse:
    """Answer a WADO-URI request (requestType=WADO, objectUID; studyUID/seriesUID optional)."""
    if request.GET.get("requestType") != "WADO":
        return HttpResponseBadRequest("requestType=WADO is required.")
    object_uid = request.GET.get("objectUID", "")
    if not object_uid:
        return HttpResponseBadRequest("objectUID is required.")
    content_type = request.GET.get("contentType", DICOM_CONTENT_TYPE)
    if content_type not in (DICOM_CONTENT_TYPE, "*/*"):
        return HttpResponse(
            f"Only {DICOM_CONTENT_TYPE} is served.", status=406, content_type="text/plain"
        )
    image_file = get_image_file(request.user, object_uid)
    return serve_image_file(request, image_file, image_file.sha256)


def serve_image_file(request: HttpRequest, image_file, tag: str) -> HttpResponse:
    """Stream a permitted de-identified file, with `tag` as its ETag (304 when it matches)."""
    etag = quote_etag(tag)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = FileResponse(image_file.file.open("rb"), content_type=DICOM_CONTENT_TYPE)
        response["Content-Length"] = str(image_file.size_bytes)
    response["ETag"] = etag
    # The file behind a UID never changes, but only its permitted user may cache it.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    response["Vary"] = "Cookie"
    response["X-Content-Type-Options"] = "nosniff"
    return response
