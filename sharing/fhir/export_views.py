"""FHIR Bulk Data $export of a municipality's measurements, for the municipality's own system.

Kick-off ``GET /fhir/$export`` with ``Prefer: respond-async`` (``_type=Observation``, ``_since``,
``_outputFormat=application/fhir+ndjson``): **202** with ``Content-Location`` naming the status
URL. The export runs inside the kick-off request (through ``sharing.access.export``, audited), so
the status is complete at the first poll: **200** with the manifest. Files are NDJSON, fetched
with the same token; ``DELETE`` on the status URL removes the job and its files. After
``EXPORT_RETENTION_HOURS`` the files are removed (``sharing.fhir.actions``) and the status URL
answers **410** with an OperationOutcome.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.access.export import export_observations
from sharing.audit.actions import AuditUnavailable
from sharing.core.outage import retry_after

from .actions import remove_if_expired
from .auth import ApiClient, HasScope, SystemTokenAuthentication
from .errors import Said, coded, language_of
from .models import ExportFile, ExportJob
from .renderers import FHIRJSONRenderer, JSONAsFHIRRenderer

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
UNLOGGED = _("The export could not be logged, so no data is returned.")
REMOVED = _("This export was removed %(hours)s hours after it finished (EXPORT_RETENTION_HOURS). Start a new export.")


class CanExport(HasScope):
    setting = "FHIR_SCOPE_EXPORT"


class ExportView(APIView):
    authentication_classes = [SystemTokenAuthentication]
    permission_classes = [CanExport]
    renderer_classes = [FHIRJSONRenderer, JSONAsFHIRRenderer]

    def client(self, request: Request) -> ApiClient:
        if not isinstance(request.user, ApiClient):
            raise exceptions.NotAuthenticated()
        return request.user

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, AuditUnavailable):
            body = Said("audit-unavailable", UNLOGGED).outcome(language_of(self.request), "transient", "fatal")
            return Response(body, status=503, headers={"Retry-After": retry_after()})
        return super().handle_exception(exc)

    def job(self, request: Request, pk: str) -> ExportJob:
        job = ExportJob.objects.filter(pk=_uuid(pk), client_id=self.client(request).client_id).first()
        if job is None:  # another client's job is not found either
            raise coded(exceptions.NotFound, "not-found", _("No such export job for this client."))
        return job


def _uuid(value: str) -> uuid.UUID:
    """A job or file id from the URL; anything else names nothing here."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise coded(exceptions.NotFound, "not-found", _("No such export job or file.")) from None


def _bad(code: str, message: Any, /, **values: Any) -> exceptions.APIException:
    """A kick-off the server cannot start: 400 with an OperationOutcome, worded by the exception handler."""
    return coded(exceptions.ParseError, code, message, **values)


def _since(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or not dt.datetime(1900, 1, 1, tzinfo=dt.UTC) <= moment <= timezone.now():
        return None
    return moment


class ExportKickOff(ExportView):
    """GET /fhir/$export: export the client's municipality's Observations."""

    def get(self, request: Request) -> Response:
        if "respond-async" not in request.headers.get("Prefer", ""):
            raise _bad("respond-async-required", _("Bulk export needs the header 'Prefer: respond-async'."))
        params = request.query_params
        types = [t.strip() for t in params.get("_type", "Observation").split(",") if t.strip()]
        if types != ["Observation"]:
            raise _bad("type-invalid", _("Only _type=Observation can be exported."))
        if params.get("_outputFormat", NDJSON) not in OUTPUT_FORMATS:
            raise _bad("output-format-invalid", _("_outputFormat must be application/fhir+ndjson."))
        unknown = sorted(set(params) - {"_type", "_since", "_outputFormat"})
        if unknown:
            raise _bad("param-unknown", _("Not supported here: %(names)s."), names=", ".join(unknown)[:200])
        since = None
        if "_since" in params:
            since = _since(params["_since"])
            if since is None:
                raise _bad("since-invalid", _("_since must be a FHIR instant with a time zone, not in the future."))
        client = self.client(request)
        job = ExportJob.objects.create(
            client_id=client.client_id,
            municipality=client.orgnr_parent,
            since=since,
            request_url=request.build_absolute_uri()[:2048],
        )
        try:
            exported = export_observations(
                by=client.actor(), municipality=client.orgnr_parent, since=since, job=str(job.pk)
            )
        except AuditUnavailable:
            job.delete()
            raise
        if exported is None:
            job.delete()
            msg = _("This client is not the system of a municipality whose data it could export.")
            raise coded(exceptions.PermissionDenied, "export-not-allowed", msg)
        lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in exported.resources)
        if exported.resources:
            ExportFile.objects.create(
                job=job, resource_type="Observation", count=len(exported.resources), content=lines
            )
        job.completed_at = timezone.now()
        job.save(update_fields=["completed_at"])
        status_url = request.build_absolute_uri(reverse("fhir:export-status", args=[job.pk]))
        return Response(status=202, headers={"Content-Location": status_url})


def _gone(request: Request) -> Response:
    said = Said("export-removed", REMOVED, hours=settings.EXPORT_RETENTION_HOURS)
    return Response(said.outcome(language_of(request), "not-found"), status=410)


class ExportStatus(ExportView):
    """GET (the manifest) or DELETE (remove) /fhir/$export-status/{job}; 410 once removed."""

    def get(self, request: Request, pk: str) -> Response:
        job = self.job(request, pk)
        if remove_if_expired(job=job, by=self.client(request).actor()):
            return _gone(request)
        if job.completed_at is None:
            return Response(status=202, headers={"X-Progress": "running", "Retry-After": "1"})
        manifest: dict[str, Any] = {
            "transactionTime": job.completed_at.isoformat(),
            "request": job.request_url,
            "requiresAccessToken": True,
            "output": [
                {
                    "type": f.resource_type,
                    "url": request.build_absolute_uri(reverse("fhir:export-file", args=[f.pk])),
                    "count": f.count,
                }
                for f in job.files.order_by("resource_type")
            ],
            "error": [],
        }
        return Response(manifest, status=200, content_type="application/json")

    def delete(self, request: Request, pk: str) -> Response:
        self.job(request, pk).delete()
        return Response(status=202)


class ExportFileView(ExportView):
    """GET /fhir/$export-file/{file}: one NDJSON file of the client's own job."""

    def get(self, request: Request, pk: str) -> HttpResponse:
        client = self.client(request)
        found = ExportFile.objects.filter(pk=_uuid(pk), job__client_id=client.client_id).select_related("job").first()
        if found is None:  # a removed job's files are gone: not found
            raise coded(exceptions.NotFound, "not-found", _("No such export file for this client."))
        if remove_if_expired(job=found.job, by=client.actor()):
            return _gone(request)
        return HttpResponse(found.content.encode(), content_type=NDJSON)
