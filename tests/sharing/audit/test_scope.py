"""Whose events an auditor sees: the municipalities an event is about, and the auditor's scope."""

import pytest

from sharing.access.actions import open_patient
from sharing.access.permissions import auditor_scope, reviewer_scope, system_scope
from sharing.audit.actions import municipalities_of, record_event
from sharing.audit.models import AuditEvent
from sharing.audit.scope import AuditScope
from sharing.audit.search import AuditFilter, search
from sharing.core.actor import Actor, Role
from sharing.core.basis import Basis
from sharing.identifiers import parse_national_id

OSLO, BAERUM, LOVISENBERG, OPERATOR = "311111019", "315555019", "312222019", "316666019"
KARI = "30875928763"

OSLO_AUDITOR = Actor(name="Jonas Strand", orgnr_parent=OSLO, grants=frozenset({(Role.AUDITOR, OSLO)}))
BAERUM_AUDITOR = Actor(name="Tor Nes", orgnr_parent=BAERUM, grants=frozenset({(Role.AUDITOR, BAERUM)}))
SERVICE_AUDITOR = Actor(name="Leif Aas", orgnr_parent=OPERATOR, grants=frozenset({(Role.SERVICE_AUDITOR, "")}))
OSLO_ADMIN = Actor(name="Astrid Holm", orgnr_parent=OSLO, grants=frozenset({(Role.MUNICIPALITY_ADMIN, OSLO)}))
CLINICIAN = Actor(name="Ingrid Berg", hpr_number="565501872", roles=frozenset({Role.CLINICIAN}))


def test_auditor_scopes_follow_the_grants():
    assert auditor_scope(OSLO_AUDITOR) == AuditScope(frozenset({OSLO}))
    assert auditor_scope(SERVICE_AUDITOR) == AuditScope(None)
    assert auditor_scope(OSLO_ADMIN) is None
    assert auditor_scope(CLINICIAN) is None
    assert reviewer_scope(OSLO_AUDITOR) == AuditScope(frozenset({OSLO}))


@pytest.mark.django_db
def test_system_scope_follows_the_token_organisation(oslo, settings):
    assert system_scope(orgnr_parent=settings.SERVICE_OPERATOR_ORGNR) == AuditScope(None)
    assert system_scope(orgnr_parent=OSLO) == AuditScope(frozenset({OSLO}))
    assert system_scope(orgnr_parent=LOVISENBERG) is None  # a hospital is no audit system
    assert system_scope(orgnr_parent="") is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"municipalities": [OSLO, BAERUM]}, [OSLO, BAERUM]),
        ({"controller": OSLO, "consumer": LOVISENBERG}, [OSLO]),  # agreement changes
        ({"after": {"municipality": BAERUM}}, [BAERUM]),  # role grants, reservations
        ({"before": {"municipality": OSLO}, "after": {"municipality": OSLO}}, [OSLO]),
        ({"after": {"municipality": None}}, []),  # a service-wide role
        ({"municipality": "not-an-orgnr"}, []),
        ({}, []),
    ],
)
def test_municipalities_are_read_from_the_data(data, expected):
    assert municipalities_of(data) == sorted(expected)


@pytest.mark.django_db
def test_a_denied_lookup_is_about_every_municipality_holding_data(patient_data):
    """The log does not look the patient up: the access layer passes the municipalities in."""
    open_patient(by=CLINICIAN, patient=parse_national_id(KARI), basis=Basis.CARE, reason="x")
    event = AuditEvent.objects.get(event="patient.lookup")
    assert event.outcome == "denied"
    assert event.municipality_list == [OSLO]
    assert list(event.municipality_rows.values_list("municipality", flat=True)) == [OSLO]


@pytest.mark.django_db
def test_explicit_municipalities_win():
    event = record_event(
        event="x.y", outcome="success", by=CLINICIAN, data={"controller": OSLO}, municipalities=[BAERUM]
    )
    assert event.municipalities == BAERUM


@pytest.mark.django_db
def test_a_municipality_auditor_sees_only_events_about_their_municipality():
    oslo = record_event(event="patient.lookup", outcome="granted", by=CLINICIAN, municipalities=[OSLO])
    baerum = record_event(event="patient.lookup", outcome="granted", by=CLINICIAN, municipalities=[BAERUM])
    both = record_event(event="patient.lookup", outcome="granted", by=CLINICIAN, municipalities=[OSLO, BAERUM])
    login = record_event(event="user.login", outcome="success", by=CLINICIAN)
    seen = {
        scope: set(search(auditor_scope(actor), AuditFilter()).values_list("pk", flat=True))
        for scope, actor in [("oslo", OSLO_AUDITOR), ("baerum", BAERUM_AUDITOR), ("service", SERVICE_AUDITOR)]
    }
    assert seen["oslo"] == {oslo.pk, both.pk}
    assert seen["baerum"] == {baerum.pk, both.pk}
    assert seen["service"] == {oslo.pk, baerum.pk, both.pk, login.pk}
    assert AuditEvent.objects.about_municipalities(frozenset({OSLO})).count() == 2
