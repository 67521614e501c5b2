"""The ingest API: one view per FHIR interaction; they parse, call one function, and render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.core.outage import retry_after

from . import bundles, capability, openapi
from .auth import ApiClient, CanWriteObservations, SystemTokenAuthentication
from .errors import Said, language_of, operation_outcome, unavailable_outcome
from .ingest import Entry, Result, SenderNotAllowed, representation, write_observations
from .parsers import FHIRJSONParser, PlainJSONParser
from .renderers import FHIRJSONRenderer, JSONAsFHIRRenderer

RENDERERS = [FHIRJSONRenderer, JSONAsFHIRRenderer]
PARSERS = [FHIRJSONParser, PlainJSONParser]


class IngestView(APIView):
    """A system client with the write scope, writing for the municipality in its token."""

    authentication_classes = [SystemTokenAuthentication]
    permission_classes = [CanWriteObservations]
    parser_classes = PARSERS
    renderer_classes = RENDERERS

    def client(self, request: Request) -> ApiClient:
        if not isinstance(request.user, ApiClient):  # CanWriteObservations lets only clients through
            raise exceptions.NotAuthenticated()
        return request.user

    def handle_exception(self, exc: Exception) -> Response:
        language = language_of(self.request)
        if isinstance(exc, SenderNotAllowed):
            return Response(exc.said.outcome(language, "forbidden"), status=status.HTTP_403_FORBIDDEN)
        if isinstance(exc, bundles.BundleRejected):
            return Response(operation_outcome(exc.issues, language), status=exc.status)
        return super().handle_exception(exc)

    def answer(self, request: Request, result: Result) -> Response:
        """One written Observation: the resource (or what Prefer asks for), Location and ETag."""
        if not result.ok or result.recorded is None:
            return Response(operation_outcome(result.issues, language_of(request)), status=result.status)
        pk, version = result.recorded.measurement_id, result.recorded.version
        location = request.build_absolute_uri(f"{reverse('fhir:system')}Observation/{pk}/_history/{version}")
        prefer = request.headers.get("Prefer", "")
        body: dict[str, Any] | None = representation(result)
        if "return=minimal" in prefer:
            body = None
        elif "return=OperationOutcome" in prefer:
            body = operation_outcome(result.issues, language_of(request))
        return Response(body, status=result.status, headers={"Location": location, "ETag": f'W/"{version}"'})


class ObservationCreate(IngestView):
    """POST /fhir/Observation: create (conditional with If-None-Exist); a re-send changes nothing."""

    def post(self, request: Request) -> Response:
        entry = Entry(request.data, "POST", if_none_exist=request.headers.get("If-None-Exist", ""))
        [result] = write_observations(entries=[entry], client=self.client(request))
        return self.answer(request, result)


class ObservationUpdate(IngestView):
    """PUT /fhir/Observation/{id}: update or create, {id} being the sender's own id for it."""

    def put(self, request: Request, pk: str) -> Response:
        entry = Entry(request.data, "PUT", put_id=pk)  # pk: the sender's FHIR id, not ours
        [result] = write_observations(entries=[entry], client=self.client(request))
        return self.answer(request, result)


class SystemBatch(IngestView):
    """POST /fhir with a Bundle: batch (per-entry answers) or transaction (all or nothing)."""

    def post(self, request: Request) -> Response:
        limit = settings.FHIR_MAX_BUNDLE_ENTRIES
        language = language_of(request)
        answer = bundles.process(request.data, client=self.client(request), max_entries=limit, language=language)
        return Response(answer.body, status=answer.status)


class Metadata(APIView):
    """GET /fhir/metadata: the CapabilityStatement. Public, as FHIR expects."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    renderer_classes = RENDERERS

    def get(self, request: Request) -> Response:
        return Response(capability.statement(request.build_absolute_uri("/fhir")))


def openapi_description(request: HttpRequest) -> HttpResponse:
    """GET /fhir/openapi.json: the OpenAPI description of this API (openapi/). Public, like metadata."""
    return JsonResponse(openapi.document(server_url=request.build_absolute_uri("/").rstrip("/")))


View = Callable[..., HttpResponse]
METHOD_NOT_ALLOWED = _("The method %(method)s is not allowed here; allowed: %(allowed)s.")
NO_SUCH_URL = _("No such URL in this FHIR API; GET /fhir/metadata lists what there is.")


def by_method(**views: View) -> View:
    """One URL, one view per HTTP method (FHIR puts several interactions on one path).

    ``by_method(POST=ObservationCreate.as_view(), GET=ObservationSearch.as_view())``; any
    other method gets 405 with an OperationOutcome.
    """
    allowed = ", ".join(sorted(views))

    @csrf_exempt
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        view = views.get(request.method or "")
        if view is not None:
            return view(request, *args, **kwargs)
        if request.method == "HEAD" and "GET" in views:
            # HEAD is GET without the body: the same decision, log and headers (Content-Length too).
            response = views["GET"](request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
            return response
        said = Said("method-not-allowed", METHOD_NOT_ALLOWED, method=request.method or "", allowed=allowed)
        return _answer(request, 405, "not-supported", said, headers={"Allow": allowed})

    return dispatch


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A URL under /fhir that names nothing (portal/urls.py's handler404 sends it here): 404 in FHIR too."""
    return _answer(request, 404, "not-found", Said("no-such-url", NO_SUCH_URL))


def unavailable(request: HttpRequest) -> HttpResponse:
    """The database cannot be reached outside DRF's views (portal/errors.py sends /fhir here): the
    same 503 OperationOutcome with Retry-After as errors.fhir_exception_handler answers."""
    body = FHIRJSONRenderer().render(unavailable_outcome(language_of(request)))
    headers = {"Retry-After": retry_after()}
    return HttpResponse(body, status=503, content_type="application/fhir+json", headers=headers)


def _answer(
    request: HttpRequest, status: int, code: str, said: Said, headers: dict[str, str] | None = None
) -> HttpResponse:
    """An OperationOutcome from outside DRF's views (which answer through errors.fhir_exception_handler)."""
    body = FHIRJSONRenderer().render(said.outcome(language_of(request), code))
    return HttpResponse(body, status=status, content_type="application/fhir+json", headers=headers)


# POST /fhir (and /fhir/): the system-level batch/transaction endpoint, also mounted by portal/urls.py.
system = login_not_required(by_method(POST=SystemBatch.as_view()))
