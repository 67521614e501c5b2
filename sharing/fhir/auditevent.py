"""GET /fhir/AuditEvent: the access log as FHIR R4 AuditEvents shaped after IHE BALP.

Who may call: a system client whose HelseID token carries the scope
`FHIR_SCOPE_AUDITEVENT_READ` (`<audience>/auditevent.read`; the scope says it is an audit
system). Its organisation (orgnr_parent) says whose events it reads: the service operator's
system (settings.SERVICE_OPERATOR_ORGNR) reads every event, a municipality's system reads the
events about that municipality's data, any other organisation gets 403. Each call is itself
logged (fhir.auditevent.search) before the Bundle leaves.

Search parameters: `patient.identifier` (system|value or value), `date` (ge, gt, le, lt, eq;
repeatable), `outcome` (0, 4, 8; comma for OR), `subtype` (our event code, optionally
`urn:maaledata:audit-event|code`), `_count` (1-200, default 50) and `_page`. Anything else is
refused with 400, never silently ignored. How one record becomes an AuditEvent: `balp.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.access.auditlog import read_log
from sharing.access.permissions import system_scope
from sharing.audit import events
from sharing.audit.models import AuditEvent, AuditEventQuerySet
from sharing.audit.scope import AuditScope
from sharing.core.outage import retry_after
from sharing.fhir.observation.guard import UNCLEAN, clean_text
from sharing.identifiers import SYSTEM_DNR, SYSTEM_FHN, SYSTEM_FNR

from .auth import ApiClient, HasScope, SystemTokenAuthentication
from .balp import OUTCOMES, audit_event
from .errors import Said, coded, language_of
from .renderers import FHIRJSONRenderer, JSONAsFHIRRenderer

logger = logging.getLogger(__name__)

MAX_COUNT = 200
DEFAULT_COUNT = 50
KNOWN_PARAMS = frozenset({"patient.identifier", "date", "outcome", "subtype", "_count", "_page"})
DATE_INVALID = _("date: %(value)r is not a FHIR date or dateTime.")
NOT_AN_AUDIT_SYSTEM = _("Only the service operator's or a municipality's audit system may read the access log.")
UNLOGGED = _("The access log could not record this read, so nothing is returned.")


# --- Search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEventQuery:
    patient: str
    moments: tuple[tuple[str, dt.datetime], ...]
    outcomes: tuple[str, ...]
    subtypes: tuple[str, ...]
    count: int
    page: int


def _moment(value: str) -> tuple[str, dt.datetime]:
    try:
        return _parse_moment(value)
    except (ValueError, OverflowError) as exc:  # well-formed but impossible (2026-13-45), or past year 9999
        raise coded(exceptions.ParseError, "date-invalid", DATE_INVALID, value=value) from exc


def _parse_moment(value: str) -> tuple[str, dt.datetime]:
    prefix, rest = (value[:2], value[2:]) if value[:2] in {"ge", "gt", "le", "lt", "eq"} else ("eq", value)
    # A date first: parse_datetime would read "2026-11-25" as that day's midnight, an instant.
    day = parse_date(rest) if len(rest) == 10 else None
    if day is None:
        moment = parse_datetime(rest)
        if moment is None:
            raise ValueError(rest)
        return prefix, timezone.make_aware(moment) if timezone.is_naive(moment) else moment
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)  # raises OverflowError on 9999-12-31, as matching() would
    if prefix == "eq":
        return "day", start
    # A whole day: "le"/"gt" compare against its end, "ge"/"lt" against its start.
    return {"le": "lt", "gt": "ge"}.get(prefix, prefix), end if prefix in {"le", "gt"} else start


def _number(params: Any, name: str, default: int, highest: int, *, code: str) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= highest:
        msg = _("%(name)s must be a whole number from 1 to %(max)s.")
        raise coded(exceptions.ParseError, code, msg, name=name, max=highest)
    return int(raw)


def parse_query(params: Any) -> AuditEventQuery:
    unknown = sorted(set(params) - KNOWN_PARAMS)
    if unknown:
        msg = _("Unsupported search parameters: %(names)s.")
        raise coded(exceptions.ParseError, "param-unknown", msg, names=", ".join(unknown))
    unclean = sorted({name for name in params for value in params.getlist(name) if not clean_text(value)})
    if unclean:  # PostgreSQL cannot compare text with NUL in it: refuse here rather than fail there
        raise coded(exceptions.ParseError, "param-unclean", "%(names)s: %(unclean)s", names=", ".join(unclean),
                    unclean=UNCLEAN)  # fmt: skip
    patient = params.get("patient.identifier", "")
    system, bar, value = patient.rpartition("|")
    if bar and system and system not in {SYSTEM_FNR, SYSTEM_DNR, SYSTEM_FHN}:
        msg = _("patient.identifier: the system must be FNR, DNR or FHN.")
        raise coded(exceptions.ParseError, "patient-system", msg)
    outcomes = tuple(code for raw in params.getlist("outcome") for code in raw.split(",") if code)
    if any(code not in {"0", "4", "8", "12"} for code in outcomes):
        raise coded(exceptions.ParseError, "outcome-invalid", _("outcome must be 0, 4, 8 or 12."))
    subtypes = tuple(code.rpartition("|")[2] for raw in params.getlist("subtype") for code in raw.split(",") if code)
    return AuditEventQuery(
        patient=value,
        moments=tuple(_moment(raw) for raw in params.getlist("date")),
        outcomes=outcomes,
        subtypes=subtypes,
        count=_number(params, "_count", DEFAULT_COUNT, MAX_COUNT, code="count-invalid"),
        page=_number(params, "_page", 1, 10_000, code="page-invalid"),
    )


def matching(scope: AuditScope, query: AuditEventQuery) -> AuditEventQuerySet:
    qs = AuditEvent.objects.in_scope(scope)
    if query.patient:
        qs = qs.for_patient(query.patient)
    for prefix, moment in query.moments:
        if prefix == "day":
            qs = qs.filter(occurred_at__gte=moment, occurred_at__lt=moment + dt.timedelta(days=1))
        else:
            lookup = {"eq": "exact", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}[prefix]
            qs = qs.filter(**{f"occurred_at__{lookup}": moment})
    if query.outcomes:
        qs = qs.filter(outcome__in=[o for o, code in OUTCOMES.items() if code in query.outcomes])
    if query.subtypes:
        qs = qs.filter(event__in=query.subtypes)
    return qs.newest_first()


# --- The view --------------------------------------------------------------------------------


class CanReadAuditEvents(HasScope):
    setting = "FHIR_SCOPE_AUDITEVENT_READ"


class AuditEventSearch(APIView):
    """GET /fhir/AuditEvent: a searchset Bundle of the log records the calling system may read."""

    authentication_classes = [SystemTokenAuthentication]
    permission_classes = [CanReadAuditEvents]
    renderer_classes = [FHIRJSONRenderer, JSONAsFHIRRenderer]

    def get(self, request: Request) -> Response:
        client = request.user
        if not isinstance(client, ApiClient):  # CanReadAuditEvents has let only clients through
            raise exceptions.NotAuthenticated()
        scope = system_scope(orgnr_parent=client.orgnr_parent)
        if scope is None:
            body = Said("audit-reader-not-allowed", NOT_AN_AUDIT_SYSTEM).outcome(language_of(request), "forbidden")
            return Response(body, status=status.HTTP_403_FORBIDDEN)
        query = parse_query(request.query_params)
        offset = (query.page - 1) * query.count
        try:
            rows = read_log(
                event=events.FHIR_AUDITEVENT_SEARCH,
                by=client.actor(request.META.get("HTTP_X_REQUEST_ID", "")[:64]),
                scope=scope,
                patient=query.patient,
                gather=lambda: list(matching(scope, query)[offset : offset + query.count + 1]),
                describe=lambda rows: {
                    "query": request.META.get("QUERY_STRING", "")[:2000],
                    "count": min(len(rows), query.count),
                },
            )
        except DatabaseError:
            logger.exception("Audit write failed; withholding the access log")
            body = Said("audit-unavailable", UNLOGGED).outcome(language_of(request), "transient")
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": retry_after()})
        return Response(_bundle(request, rows, query))


def _bundle(request: Request, rows: list[AuditEvent], query: AuditEventQuery) -> dict[str, Any]:
    base = request.build_absolute_uri("/fhir")
    self_url = request.build_absolute_uri()
    links = [{"relation": "self", "url": self_url}]
    if len(rows) > query.count:
        params = request.query_params.copy()
        params["_page"] = str(query.page + 1)
        links.append({"relation": "next", "url": f"{base}/AuditEvent?{params.urlencode()}"})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/AuditEvent/{record.pk}",
                "resource": audit_event(record, base_url=base),
                "search": {"mode": "match"},
            }
            for record in rows[: query.count]
        ],
    }
