"""A worklist item's DICOM files, addressed by the item's opaque id (see worklist.item_token).

The reading page loads its images here rather than from WADO-URI by objectUID: a hidden repeat
must not be fetched under the same URL (or ETag) as its first reading.

    GET /api/v1/studies/{id}/items/{item}/file/?index=K[&frame=F]
"""

import hashlib
import hmac

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from imaging.models import ImageFile
from imaging.wado import serve_image_file

from .permissions import Action, get_study
from .worklist import item_key, resolve_item


@require_GET
@login_required
def item_file(request: HttpRequest, study_id: int, item: str) -> HttpResponse:
    study = get_study(request.user, study_id, Action.RATE)
    found = resolve_item(study, request.user, item)
    if found is None:
        raise Http404("No such item in your worklist.")
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError:
        return HttpResponseBadRequest("index must be a whole number.")
    files = ImageFile.objects.filter(image_id=found[0]).order_by(
        "position", "instance_number", "id"
    )
    if not 0 <= index < 100_000 or (image_file := files[index : index + 1].first()) is None:
        raise Http404("No such file in this item.")
    # The ETag names the item's file, not the file's content: a repeat's differs from its first's.
    etag = hmac.new(item_key(), f"{item}:{image_file.sha256}".encode(), hashlib.sha256)
    return serve_image_file(request, image_file, etag.hexdigest()[:32])
