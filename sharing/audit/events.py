"""What the access log records: one vocabulary of namespaced event codes.

Callers pass these codes to `record_event`. The namespace says what kind of event it is, and the
review rules, the auditor's filters and the patient's report read the namespace, so a new code in
a known namespace is handled without changes here:

- `patient.*`           a person reads patient data in the portal (lookup, page view, export);
- `api.*`               a hospital or GP system reads patient data through the FHIR API (search,
                        read, $lastn), on behalf of its user;
- `agreement.*`, `reservation.*`, `role.*`   changes to who may see what;
- `user.*`              login, logout, choice of unit, session expiry;
- `launch.*`            starts from a hospital record (EHR launch) that were refused; a launch
                        that was accepted is a `patient.lookup` whose data holds `launch`;
- `ingest.*`            measurements corrected or refused as they arrive;
- `organisation.*`      the register of organisations;
- `audit.*`             the auditors' own work (searches, reports, reviews) and the log's upkeep;
- `fhir.auditevent.*`   auditors' systems reading the log.

Every code that reaches `record_event` must have a label: its own (`sharing.core.events.Event`),
or its namespace's (below). tests/sharing/audit/test_what_is_logged.py finds every literal code
in the source and checks it.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sharing.core.events import Event

# The codes this layer's rules name (members of the one enumeration, `sharing.core.events.Event`).
PATIENT_LOOKUP = Event.PATIENT_LOOKUP
PATIENT_VIEW = Event.PATIENT_VIEW
PATIENT_EXPORT = Event.PATIENT_EXPORT
API_SEARCH = Event.API_SEARCH
API_READ = Event.API_READ
API_LASTN = Event.API_LASTN
# Lookups (the portal's search, the API's search and $lastn) count against
# LOOKUP_RATE_LIMIT_PER_HOUR. One the limit refused is logged with this denial, and does not
# count: retrying does not extend a block.
LOOKUP_EVENTS = (PATIENT_LOOKUP, API_SEARCH, API_LASTN)
RATE_LIMITED = "rate-limited"
# The auditors' work and the log's upkeep.
AUDIT_SEARCH = Event.AUDIT_SEARCH
AUDIT_REVIEW_QUEUE = Event.AUDIT_REVIEW_QUEUE
AUDIT_REVIEW = Event.AUDIT_REVIEW
AUDIT_PATIENT_REPORT = Event.AUDIT_PATIENT_REPORT
AUDIT_PURGE = Event.AUDIT_PURGE
FHIR_AUDITEVENT_SEARCH = Event.FHIR_AUDITEVENT_SEARCH

# Namespaces whose events are reads of patient data (health personnel or their systems).
PATIENT_ACCESS_PREFIXES = ("patient.", "api.")
# The auditors' reads of the log itself: kept, but left out of the default listing so that
# looking at the log does not bury what the auditor came to see.
AUDITOR_READS = (AUDIT_SEARCH, AUDIT_REVIEW_QUEUE, AUDIT_PATIENT_REPORT, FHIR_AUDITEVENT_SEARCH)

# Each code's label, from the enumeration (one place for both).
LABELS: dict[str, Promise] = {event.value: event.label for event in Event}
NAMESPACE_LABELS: dict[str, Promise] = {
    "patient": _("Patient data read"),
    "api": _("API read of measurements"),
    "agreement": _("Agreement change"),
    "reservation": _("Reservation change"),
    "role": _("Role change"),
    "membership": _("Membership change"),
    "user": _("Login session"),
    "launch": _("Start from the patient record"),
    "ingest": _("Measurement ingest"),
    "organisation": _("Organisation register"),
    "processing_agreement": _("Data processing agreement"),
    "sender": _("Authorised senders"),
    "measurement": _("Measurements deleted"),
    "audit": _("Access log work"),
    "fhir.auditevent": _("API read of the access log"),
}


def label(code: str) -> str:
    """The display name of an event code: its own, else its namespace's, else the code itself."""
    if code in LABELS:
        return str(LABELS[code])
    namespace = code
    while "." in namespace:
        namespace = namespace.rsplit(".", 1)[0]
        if namespace in NAMESPACE_LABELS:
            return str(NAMESPACE_LABELS[namespace])
    return code


def is_known(code: str) -> bool:
    return label(code) != code


def is_patient_access(code: str) -> bool:
    return code.startswith(PATIENT_ACCESS_PREFIXES)


def patient_access_q() -> Q:
    """Rows that record a read of patient data (the review rules and the patient's report)."""
    q = Q(pk__in=[])
    for prefix in PATIENT_ACCESS_PREFIXES:
        q |= Q(event__startswith=prefix)
    return q


def filter_choices() -> list[tuple[str, str]]:
    """The auditor's event filter: each namespace (as "ns.*") and each known code."""
    namespaces = [(f"{ns}.*", str(text)) for ns, text in NAMESPACE_LABELS.items()]
    codes = [(code, str(text)) for code, text in LABELS.items()]
    return namespaces + codes


def counted_lookups() -> Q:
    """The records that count against the lookup limit. Also the condition of the partial index
    that answers the count (audit_lookup_rate_idx), so it is written once, here. Works on SQLite."""
    return Q(event__in=LOOKUP_EVENTS) & (Q(data__denial__isnull=True) | ~Q(data__denial=RATE_LIMITED))
