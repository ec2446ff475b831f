"""The API side of the one job machinery: a job's resource reaps a lost worker, and offers
`cancel/` and `retry/` (POST), the same for every kind of job."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from . import jobs


class JobActionsMixin:
    """For a viewset over a `Job` model; set `enqueue_job` to the function that queues one."""

    enqueue_job: Callable[[int], None]

    def get_object(self):
        job = super().get_object()
        # A job whose worker died is shown failed (with why) on the next look, not "running".
        if job.status == jobs.JobStatus.RUNNING and jobs.reap_stale(type(job), pk=job.pk):
            job.refresh_from_db()
            self.job_abandoned(job)
        # A pending job nobody claimed for long is queued again once, then failed with why.
        if job.status == jobs.JobStatus.PENDING and jobs.reap_lost(
            type(job), type(self).enqueue_job, pk=job.pk
        ):
            job.refresh_from_db()
        self.job_changed(job)
        return job

    def job_abandoned(self, job) -> None:
        """Hook, once, when a job whose worker died is failed: remove what the dead run left
        half-written (a staging folder, a partial file)."""

    def job_changed(self, job) -> None:
        """Hook after a look at the job (e.g. remove an upload once the job is over)."""

    def job_cancelled(self, request: Request, job) -> None:
        """Hook inside the cancel's transaction (e.g. write an audit event)."""

    def may_control(self, request: Request, job) -> bool:
        """Who may cancel or retry: by default whoever may see the job."""
        return True

    def _answer(self, request: Request, job, done: bool, verb: str) -> Response:
        job.refresh_from_db()
        data = self.get_serializer(job).data
        if not done:
            return Response(
                {"detail": f"A {job.status} job cannot be {verb}.", "code": "job_state"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None, **kwargs) -> Response:
        job = self.get_object()
        self.check_control(request, job)
        with transaction.atomic():
            done = jobs.cancel(job)
            if done:
                self.job_cancelled(request, job)
        answer = self._answer(request, job, done, "cancelled")
        self.job_changed(job)
        return answer

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk=None, **kwargs) -> Response:
        job = self.get_object()
        self.check_control(request, job)
        return self._answer(request, job, jobs.retry(job, type(self).enqueue_job), "retried")

    def check_control(self, request: Request, job) -> None:
        if not self.may_control(request, job):
            raise PermissionDenied("You may not control this job.")
