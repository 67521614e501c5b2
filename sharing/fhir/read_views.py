"""The FHIR read API: search, read and $lastn for hospital and GP systems acting for a person."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils import translation
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.access.decision import DENIAL_MESSAGES, Denial
from sharing.core.claims import ClaimRefused
from sharing.core.outage import retry_after

from . import dpop, reads
from .auth import replayed
from .errors import Said, language_of
from .renderers import FHIR_JSON, FHIRJSONRenderer, JSONAsFHIRRenderer, Prerendered
from .search import CURSOR, ObservationQuery, SearchError, parse_query, unknown_parameters
from .userauth import ApiUser, CanReadObservations, UserTokenAuthentication

NOT_FOUND = _("No such Observation, or you may not see it.")
THROTTLED = _("Too many lookups in the last hour; the refusal is logged for review. Try again later.")
UNLOGGED = _("The access could not be logged, so no data is returned.")

# The coded reason of a 403 or 400 refusal (docs/fhir-api.md, "Denials"): the decision's own code.
DENIAL_SYSTEM = "https://maaledata.no/fhir/CodeSystem/access-denial"
# A refusal that reaches the API says nothing about the patient, so "no agreement" here means
# the organisation has none in force at all (a patient without shared data finds nothing instead).
_API_MESSAGES = {
    **DENIAL_MESSAGES,
    Denial.NO_AGREEMENT: _("No agreement in force gives your organisation access to home measurements."),
}


def said(message: object, language: str) -> str:
    """A message in the caller's language (Norwegian unless Accept-Language prefers English)."""
    with translation.override(language):
        return str(message)


def denial_outcome(denial: Denial, language: str) -> tuple[dict[str, Any], int]:
    """A refusal as a coded OperationOutcome in the caller's language, and its HTTP status."""
    with translation.override(language):
        message = str(_API_MESSAGES.get(denial, DENIAL_MESSAGES.get(denial, str(denial))))
    required = denial == Denial.REASON_REQUIRED
    issue = {
        "severity": "error",
        "code": "required" if required else "forbidden",
        "details": {"coding": [{"system": DENIAL_SYSTEM, "code": str(denial)}], "text": message},
        "diagnostics": message,
        **({"expression": ["X-Access-Reason"]} if required else {}),
    }
    code = status.HTTP_400_BAD_REQUEST if required else status.HTTP_403_FORBIDDEN
    return {"resourceType": "OperationOutcome", "issue": [issue]}, code


def lenient(request: Request) -> bool:
    """Prefer: handling=lenient: unknown search parameters are ignored instead of refused."""
    return any(part.strip() == "handling=lenient" for part in request.headers.get("Prefer", "").split(";"))


class ReadView(APIView):
    authentication_classes = [UserTokenAuthentication]
    permission_classes = [CanReadObservations]
    renderer_classes = [FHIRJSONRenderer, JSONAsFHIRRenderer]

    def api_user(self, request: Request) -> ApiUser:
        user = request.user
        if not isinstance(user, ApiUser):  # CanReadObservations lets only people through
            raise exceptions.NotAuthenticated()
        return user

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        """Answered as application/fhir+json also when the caller asked for plain JSON (FHIR R4 3.1.0.1.10).

        Before anything leaves: the DPoP proof's jti recorded as used, if the audit record did not
        take it (a resource not found, a refusal before the door); used before, a 401 instead.
        """
        user = getattr(request, "_user", None)
        # A 401 hands nothing out: a replay the audit record refused is not recorded (or logged) twice.
        if isinstance(user, ApiUser) and user.actor.claim is not None and response.status_code != 401:
            try:
                dpop.record_claim(user.actor.claim)
            except dpop.InvalidProof:
                response = self.handle_exception(replayed())
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and isinstance(
            getattr(response, "accepted_renderer", None), JSONAsFHIRRenderer
        ):
            response.accepted_renderer = FHIRJSONRenderer()
            response.accepted_media_type = FHIR_JSON
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ClaimRefused):  # the proof's jti, with the audit record: used before
            return super().handle_exception(replayed())
        if isinstance(exc, SearchError):
            return Response(exc.said.outcome(language_of(self.request), "invalid"), status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, reads.Refused):
            body, code = denial_outcome(exc.denial, language_of(self.request))
            return Response(body, status=code)
        language = language_of(self.request)
        if isinstance(exc, reads.NotVisible):
            body = Said("not-found", NOT_FOUND).outcome(language, "not-found")
            return Response(body, status=status.HTTP_404_NOT_FOUND)
        if isinstance(exc, reads.RateLimited):
            body = Said("lookup-limit", THROTTLED).outcome(language, "throttled")
            return Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS)
        if isinstance(exc, reads.AuditUnavailable):
            body = Said("audit-unavailable", UNLOGGED).outcome(language, "transient", severity="fatal")
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": retry_after()})
        return super().handle_exception(exc)

    def bundle(
        self,
        request: Request,
        entries: list[Any],
        total: int,
        params: QueryDict,
        cursor: str | None,
        query: ObservationQuery | None = None,
    ) -> Prerendered:
        """The searchset Bundle as FHIR JSON, each stored resource's text spliced in unparsed
        (`reads.resource_json`); a subsetted resource (_summary, _elements) is cut as a document."""
        base = request.build_absolute_uri(reverse("fhir:observation-create"))
        self_link = f"{base}?{params.urlencode()}"
        links = [{"relation": "self", "url": self_link}]
        if cursor:
            following = params.copy()
            following[CURSOR] = cursor
            links.append({"relation": "next", "url": f"{base}?{following.urlencode()}"})
        head = _json(
            {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": total, "link": links}
        )
        cut = query is not None and reads.subsets(query)
        listed = []
        for m in entries:
            if cut and query is not None:
                resource = _json(reads.subset(reads.as_resource(m, base), query))
            else:
                resource = reads.resource_json(m, base)
            listed.append(f'{{"fullUrl":{_json(f"{base}/{m.id}")},"resource":{resource},"search":{{"mode":"match"}}}}')
        return _prerendered(f'{head[:-1]},"entry":[{",".join(listed)}]}}')


class ObservationSearch(ReadView):
    """GET /fhir/Observation and POST /fhir/Observation/_search (form-encoded, as PMD does)."""

    parser_classes = [FormParser]

    def get(self, request: Request) -> Response:
        return self.search(request, request.query_params)

    def post(self, request: Request) -> Response:
        params = request.query_params.copy()
        # FormParser gives a QueryDict; with no body at all DRF gives an empty dict instead.
        form = request.data if isinstance(request.data, QueryDict) else QueryDict()
        for key, values in form.lists():
            params.setlist(key, params.getlist(key) + values)
        return self.search(request, params)

    def search(self, request: Request, params: QueryDict) -> Response:
        user = self.api_user(request)
        query = parse_query(params, lenient=lenient(request))
        page = reads.search(by=user.actor, query=query, basis=user.basis, reason=user.reason, cursor=params.get(CURSOR))
        clean = params.copy()
        clean.pop(CURSOR, None)
        for ignored in unknown_parameters(dict(clean.lists())):  # lenient: the links say what was applied
            clean.pop(ignored, None)
        return Response(self.bundle(request, page.measurements, page.total, clean, page.next_cursor, query))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _prerendered(text: str) -> Prerendered:
    # "replace": a stray unpaired surrogate in an echoed value must not turn an answer into a 500.
    return Prerendered(text.encode("utf-8", "replace"))


def _measurement_id(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(pk)
    except ValueError as exc:  # our ids are UUIDs; anything else names nothing here
        raise reads.NotVisible from exc


def _validators(version: int, changed: dt.datetime) -> dict[str, str]:
    return {"ETag": f'W/"{version}"', "Last-Modified": http_date(changed.timestamp())}


def _not_modified(request: Request, version: int, changed: dt.datetime) -> bool:
    """If-None-Match (weak comparison, RFC 9110), else If-Modified-Since, says the caller has this version."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or f'"{version}"' in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(changed.timestamp()) <= since


class ObservationRead(ReadView):
    """GET /fhir/Observation/{id}: the resource as received, with its version; 404 for missing and
    forbidden alike. ETag and Last-Modified; If-None-Match and If-Modified-Since answer 304 (the
    read is decided and logged all the same)."""

    def get(self, request: Request, pk: str) -> Response:
        user = self.api_user(request)
        found = reads.read(by=user.actor, measurement_id=_measurement_id(pk), basis=user.basis, reason=user.reason)
        changed = reads.last_updated(found)
        headers = _validators(found.version, changed)
        if _not_modified(request, found.version, changed):
            return Response(None, status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        base = request.build_absolute_uri(reverse("fhir:observation-create"))
        return Response(_prerendered(reads.resource_json(found, base)), headers=headers)


class ObservationHistory(ReadView):
    """GET /fhir/Observation/{id}/_history: every version the caller may see, newest first, a
    withdrawal (entered-in-error) included; GET .../_history/{vid}: one of them (vread)."""

    def get(self, request: Request, pk: str, vid: str | None = None) -> Response:
        user = self.api_user(request)
        versions = reads.history(
            by=user.actor, measurement_id=_measurement_id(pk), basis=user.basis, reason=user.reason
        )
        base = request.build_absolute_uri(reverse("fhir:observation-create"))
        if vid is not None:
            version = next((v for v in versions if str(v.number) == vid), None)
            if version is None:
                raise reads.NotVisible
            headers = _validators(version.number, version.last_updated)
            if _not_modified(request, version.number, version.last_updated):
                return Response(None, status=status.HTTP_304_NOT_MODIFIED, headers=headers)
            return Response(reads.as_resource(version, base, pk), headers=headers)
        return Response(
            {
                "resourceType": "Bundle",
                "id": str(uuid.uuid4()),
                "type": "history",
                "total": len(versions),
                "link": [{"relation": "self", "url": request.build_absolute_uri()}],
                "entry": [
                    {
                        "fullUrl": f"{base}/{pk}",
                        "resource": reads.as_resource(v, base, pk),
                        "request": {"method": "POST" if v.number == 1 else "PUT", "url": f"Observation/{pk}"},
                        "response": {
                            "status": "201" if v.number == 1 else "200",
                            "etag": f'W/"{v.number}"',
                            "lastModified": reads.fhir_instant(v.last_updated),
                        },
                    }
                    for v in versions
                ],
            }
        )


class ObservationLastN(ReadView):
    """GET /fhir/Observation/$lastn: the latest `max` (default 1) per code for one patient."""

    def get(self, request: Request) -> Response:
        user = self.api_user(request)
        params = request.query_params.copy()
        raw_max = params.pop("max", ["1"])[-1]
        if not raw_max.isdigit() or not 0 < int(raw_max) <= 100:
            raise SearchError("max-invalid", _("max must be a whole number from 1 to 100."))
        query = parse_query(params, lenient=lenient(request))
        rows = reads.last_n(by=user.actor, query=query, basis=user.basis, reason=user.reason, max_per_code=int(raw_max))
        return Response(self.bundle(request, rows, len(rows), request.query_params, None, query))
