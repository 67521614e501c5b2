"""Agreements and reservations change only through audited actions, along the allowed status arrows."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from devdata import demo
from sharing.access.decision import Denial, decide
from sharing.agreements import actions
from sharing.agreements.models import Agreement, Organisation, Reservation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.core.basis import Basis
from sharing.measurements.models import PatientSource

pytestmark = pytest.mark.django_db

ASTRID = Actor(
    name="Astrid Holm",
    pid="17817213715",
    orgnr_parent=demo.OSLO,
    grants=frozenset({(Role.MUNICIPALITY_ADMIN, demo.OSLO)}),
)
INGRID = Actor(hpr_number="565501872", name="Ingrid Berg", security_level="4", orgnr_parent=demo.LOVISENBERG)
KARI = "30875928763"


@pytest.fixture
def orgs(db: None) -> dict[str, Organisation]:
    return demo.seed_organisations()


def terms(orgs: dict[str, Organisation], **overrides: Any) -> actions.Terms:
    values: dict[str, Any] = {
        "consumer": orgs[demo.FJORDVIK],
        "valid_from": timezone.localdate() - dt.timedelta(days=1),
        "purpose": "Oppfølging av felles pasienter",
    }
    return actions.Terms(**{**values, **overrides})


def draft(orgs: dict[str, Organisation], **overrides: Any) -> Agreement:
    return actions.create_draft(controller=orgs[demo.OSLO], terms=terms(orgs, **overrides), by=ASTRID)


def activate(agreement: Agreement) -> Agreement:
    return actions.activate_agreement(
        agreement=agreement,
        document_reference="Sak 2026/123",
        signed_by="Kommunedirektør Oslo; adm. dir. Fjordvik",
        signed_on=timezone.localdate(),
        by=ASTRID,
    )


def events(prefix: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event__startswith=prefix).order_by("id"))


def test_a_draft_is_recorded_with_its_first_revision_and_audit(orgs):
    agreement = draft(orgs, kinds=("blood_pressure", "body_weight"), lookback_days=90)
    assert (agreement.status, agreement.version) == ("draft", 1)
    revision = agreement.revisions.get()
    assert (revision.number, revision.change, revision.changed_by) == (1, "created", "Astrid Holm")
    event = events("agreement.")[-1]
    assert (event.event, event.outcome, event.actor_name) == ("agreement.create", "success", "Astrid Holm")
    assert event.data["before"] is None
    assert event.data["after"]["kinds"] == ["blood_pressure", "body_weight"]
    assert event.data["after"]["bases"] == ["care", "consent"]


def test_the_whole_life_of_an_agreement_keeps_its_history(orgs):
    agreement = draft(orgs)
    agreement = actions.update_draft(agreement=agreement, terms=terms(orgs, lookback_days=365), by=ASTRID)
    agreement = activate(agreement)
    agreement = actions.amend_agreement(
        agreement=agreement, terms=terms(orgs, lookback_days=90), note="Kortere vindu", by=ASTRID
    )
    agreement = actions.suspend_agreement(agreement=agreement, note="Avvik under behandling", by=ASTRID)
    agreement = actions.resume_agreement(agreement=agreement, note="Avklart", by=ASTRID)
    agreement = actions.terminate_agreement(agreement=agreement, note="Samarbeidet avsluttet", by=ASTRID)
    changes = list(agreement.revisions.values_list("number", "change"))
    assert changes == [
        (1, "created"),
        (2, "edited"),
        (3, "activated"),
        (4, "amended"),
        (5, "suspended"),
        (6, "resumed"),
        (7, "terminated"),
    ]
    lookbacks = [r.snapshot["lookback_days"] for r in agreement.revisions.all()]
    assert lookbacks == [None, 365, 365, 90, 90, 90, 90]
    assert (agreement.status, agreement.terminated_on) == ("terminated", timezone.localdate())
    amended = AuditEvent.objects.get(event="agreement.amend")
    assert (amended.data["before"]["lookback_days"], amended.data["after"]["lookback_days"]) == (365, 90)
    assert amended.reason == "Kortere vindu"
    assert len(events("agreement.")) == 7


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ("draft", lambda a: actions.suspend_agreement(agreement=a, note="x", by=ASTRID)),
        ("draft", lambda a: actions.terminate_agreement(agreement=a, note="x", by=ASTRID)),
        ("draft", lambda a: actions.resume_agreement(agreement=a, note="x", by=ASTRID)),
        ("active", activate),
        ("active", lambda a: actions.resume_agreement(agreement=a, note="x", by=ASTRID)),
        ("terminated", lambda a: actions.suspend_agreement(agreement=a, note="x", by=ASTRID)),
        ("terminated", lambda a: actions.terminate_agreement(agreement=a, note="x", by=ASTRID)),
    ],
)
def test_status_moves_only_along_the_arrows(orgs, path, step):
    agreement = draft(orgs)
    if path in {"active", "terminated"}:
        agreement = activate(agreement)
    if path == "terminated":
        agreement = actions.terminate_agreement(agreement=agreement, note="Slutt", by=ASTRID)
    before = (agreement.status, agreement.version, AuditEvent.objects.count())
    with pytest.raises(ValidationError):
        step(agreement)
    agreement.refresh_from_db()
    assert (agreement.status, agreement.version, AuditEvent.objects.count()) == before


def test_a_signed_agreement_is_amended_not_edited(orgs):
    agreement = activate(draft(orgs))
    with pytest.raises(ValidationError):
        actions.update_draft(agreement=agreement, terms=terms(orgs, lookback_days=30), by=ASTRID)
    with pytest.raises(ValidationError):
        actions.amend_agreement(agreement=agreement, terms=terms(orgs), note=" ", by=ASTRID)
    with pytest.raises(ValidationError):
        actions.amend_agreement(
            agreement=agreement, terms=terms(orgs, consumer=orgs[demo.SAGENE_GP]), note="Bytt", by=ASTRID
        )


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("consumer", lambda orgs: {"consumer": orgs[demo.LOVISENBERG_MEDICAL]}),  # a unit, not a legal entity
        ("consumer", lambda orgs: {"consumer": orgs[demo.OSLO]}),  # itself
        ("units", lambda orgs: {"units": (orgs[demo.LOVISENBERG_MEDICAL],)}),  # a unit of someone else
        ("valid_to", lambda orgs: {"valid_to": timezone.localdate() - dt.timedelta(days=10)}),
        ("bases", lambda orgs: {"bases": ()}),
        ("lookback_days", lambda orgs: {"lookback_days": 0}),
    ],
)
def test_bad_terms_are_refused(orgs, field, bad):
    with pytest.raises(ValidationError) as caught:
        draft(orgs, **bad(orgs))
    assert field in caught.value.message_dict
    assert not Agreement.objects.exists()


def test_only_a_municipality_shares(orgs):
    with pytest.raises(ValidationError) as caught:
        actions.create_draft(controller=orgs[demo.LOVISENBERG], terms=terms(orgs), by=ASTRID)
    assert "controller" in caught.value.message_dict


def test_activation_needs_the_signed_document(orgs):
    agreement = draft(orgs)
    with pytest.raises(ValidationError):
        actions.activate_agreement(
            agreement=agreement, document_reference=" ", signed_by="x", signed_on=timezone.localdate(), by=ASTRID
        )
    with pytest.raises(ValidationError):
        actions.activate_agreement(
            agreement=agreement,
            document_reference="Sak 1",
            signed_by="x",
            signed_on=timezone.localdate() + dt.timedelta(days=1),
            by=ASTRID,
        )
    agreement.refresh_from_db()
    assert agreement.status == "draft"


def test_the_database_refuses_an_unsigned_active_agreement(orgs):
    agreement = draft(orgs)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=agreement.pk).update(status="active")


def test_revisions_cannot_be_rewritten(orgs):
    revision = draft(orgs).revisions.get()
    revision.note = "changed later"
    with pytest.raises(TypeError):
        revision.save()


def test_termination_takes_effect_at_once(orgs):
    PatientSource.objects.create(patient_value=KARI, patient_system="fnr", source_orgnr=demo.OSLO)
    agreement = actions.create_active_agreement(
        controller=orgs[demo.OSLO], consumer=orgs[demo.LOVISENBERG], valid_from=timezone.localdate(), by=ASTRID
    )
    assert decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="x").granted
    actions.terminate_agreement(agreement=agreement, note="Sagt opp", by=ASTRID)
    assert decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="x").denial == Denial.NO_AGREEMENT


def test_expiring_lists_agreements_in_force_that_end_soon(orgs):
    today = timezone.localdate()
    soon = actions.create_active_agreement(
        controller=orgs[demo.OSLO],
        consumer=orgs[demo.LOVISENBERG],
        valid_from=today - dt.timedelta(days=100),
        valid_to=today + dt.timedelta(days=10),
        by=ASTRID,
    )
    actions.create_active_agreement(
        controller=orgs[demo.OSLO],
        consumer=orgs[demo.SAGENE_GP],
        valid_from=today - dt.timedelta(days=100),
        valid_to=today + dt.timedelta(days=100),
        by=ASTRID,
    )
    expired = actions.create_active_agreement(
        controller=orgs[demo.OSLO],
        consumer=orgs[demo.FJORDVIK],
        valid_from=today - dt.timedelta(days=100),
        valid_to=today - dt.timedelta(days=1),
        by=ASTRID,
    )
    assert list(Agreement.objects.expiring(on=today, within_days=30)) == [soon]
    assert expired.state_on(today) == Agreement.State.EXPIRED
    assert soon.state_on(today) == Agreement.State.IN_FORCE
    assert soon.state_on(today - dt.timedelta(days=101)) == Agreement.State.PENDING


def test_a_reservation_is_recorded_and_lifted_with_audit(orgs):
    reservation = actions.record_reservation(
        municipality=orgs[demo.OSLO],
        patient_value=KARI,
        objected_on=timezone.localdate(),
        consumers=[orgs[demo.SAGENE_GP]],
        note="Ønsker ikke at fastlegen ser målingene",
        by=ASTRID,
    )
    assert (reservation.all_consumers, list(reservation.consumers.all())) == (False, [orgs[demo.SAGENE_GP]])
    assert list(Reservation.objects.in_force().for_patient(KARI).against(demo.SAGENE_GP)) == [reservation]
    assert not Reservation.objects.in_force().for_patient(KARI).against(demo.LOVISENBERG).exists()
    actions.lift_reservation(reservation=reservation, note="Trukket tilbake", by=ASTRID)
    assert not Reservation.objects.in_force().exists()
    with pytest.raises(ValidationError):
        actions.lift_reservation(reservation=reservation, note="", by=ASTRID)
    recorded, lifted = events("reservation.")
    assert (recorded.event, recorded.patient_value, recorded.data["after"]["consumers"]) == (
        "reservation.create",
        KARI,
        [demo.SAGENE_GP],
    )
    assert (lifted.data["before"]["in_force"], lifted.data["after"]["in_force"]) == (True, False)


@pytest.mark.parametrize(
    "bad",
    [
        {"patient_value": "12345678901"},
        {"objected_on": timezone.localdate() + dt.timedelta(days=2)},
        {"consumers": "unit"},
    ],
)
def test_bad_reservations_are_refused(orgs, bad):
    values: dict[str, Any] = {"patient_value": KARI, "objected_on": timezone.localdate(), "consumers": []}
    values.update(bad)
    if values["consumers"] == "unit":
        values["consumers"] = [orgs[demo.LOVISENBERG_MEDICAL]]
    with pytest.raises(ValidationError):
        actions.record_reservation(municipality=orgs[demo.OSLO], by=ASTRID, **values)
    assert not Reservation.objects.exists()
    assert not events("reservation.")


def test_register_organisation_command_checks_and_audits(orgs):
    call_command(
        "register_organisation",
        orgnr="312346001",
        name="Lovisenberg, kirurgisk klinikk",
        kind="hospital",
        parent=demo.LOVISENBERG,
        stdout=io.StringIO(),
    )
    unit = Organisation.objects.get(orgnr="312346001")
    assert (unit.parent.orgnr, unit.is_legal_entity) == (demo.LOVISENBERG, False)
    record = AuditEvent.objects.get(event="organisation.register", data__after__orgnr="312346001")
    assert record.data["after"]["parent"] == demo.LOVISENBERG
    with pytest.raises(CommandError):  # the control digit is wrong
        call_command("register_organisation", orgnr="312346002", name="Feil", kind="hospital")
    with pytest.raises(CommandError):  # a unit under a unit
        call_command("register_organisation", orgnr="312346028", name="Post", kind="hospital", parent="312346001")
    assert not Organisation.objects.filter(orgnr__in=["312346002", "312346028"]).exists()
