"""Resumable chunked uploads over the API (imaging/chunked.py):

POST   /api/v1/datasets/{id}/upload-sessions/   {"files": [{"name", "size"}], "allow_burned_in"}
GET    /api/v1/upload-sessions/{sid}/           bytes received per file (to resume)
PUT    /api/v1/upload-sessions/{sid}/files/{i}/?offset=N   raw bytes (<= chunk_bytes)
POST   /api/v1/upload-sessions/{sid}/finish/    202 + the ingest job to poll
DELETE /api/v1/upload-sessions/{sid}/           drop an unfinished upload
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import chunked
from .access import get_dataset, policy
from .api import IngestJobSerializer, job_url


def _session(request: Request, sid: str) -> chunked.UploadSession:
    session = chunked.load_session(sid, request.user)
    # A session on a dataset the user no longer manages is gone for them.
    if (
        session is None
        or not policy().datasets_for(request.user).filter(pk=session.dataset_id).exists()
    ):
        raise NotFound("No such upload.")
    return session


class UploadSessionCreateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        dataset = get_dataset(request.user, pk)
        # A JSON body that is not an object (a list, `true`) names no files: a 400, not a 500.
        data = request.data if isinstance(request.data, dict) else {}
        allow = data.get("allow_burned_in", False)
        if not isinstance(allow, bool):
            raise ValidationError({"allow_burned_in": ["Must be true or false."]})
        try:
            session = chunked.create_session(dataset, request.user, data.get("files"), allow)
        except chunked.UploadError as error:
            raise ValidationError({"files": [str(error)]}) from None
        url = f"/api/v1/upload-sessions/{session.id}/"
        return Response(
            session.as_json(), status=status.HTTP_201_CREATED, headers={"Location": url}
        )


class UploadSessionView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, sid: str) -> Response:
        return Response(_session(request, sid).as_json())

    @extend_schema(responses={204: None})
    def delete(self, request: Request, sid: str) -> Response:
        chunked.discard(_session(request, sid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadChunkView(APIView):
    """One chunk, the request body itself (application/octet-stream), at ?offset=N."""

    @extend_schema(request=OpenApiTypes.BINARY, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request, sid: str, index: int) -> Response:
        session = _session(request, sid)
        try:
            offset = int(request.query_params.get("offset", ""))
        except ValueError:
            raise ValidationError(
                {"offset": ["Give the chunk's byte offset: ?offset=N."]}
            ) from None
        try:
            data = request._request.body
        except RequestDataTooBig:
            raise ValidationError(
                {"chunk": [f"Chunks are at most {chunked.CHUNK_BYTES} bytes."]}
            ) from None
        if len(data) > max(chunked.CHUNK_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE):
            raise ValidationError({"chunk": [f"Chunks are at most {chunked.CHUNK_BYTES} bytes."]})
        try:
            received = chunked.write_chunk(session, index, offset, data)
        except chunked.UploadConflict as error:
            return Response(
                {"detail": str(error), "received": error.received}, status=status.HTTP_409_CONFLICT
            )
        except chunked.UploadError as error:
            raise ValidationError({"chunk": [str(error)]}) from None
        return Response({"index": index, "received": received})


class UploadFinishView(APIView):
    @extend_schema(request=None, responses={202: IngestJobSerializer})
    def post(self, request: Request, sid: str) -> Response:
        session = _session(request, sid)
        try:
            job = chunked.finish(session, request.user)
        except chunked.UploadError as error:
            raise ValidationError({"files": [str(error)]}) from None
        return Response(
            IngestJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": job_url(job)},
        )
