"""Identity changes: a D-number or FHN replaced by a fødselsnummer keeps the person's whole history
in view under either number, with reservations and the access log following the link."""

import dataclasses
import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from devdata import demo
from sharing.access.actions import read_patient
from sharing.access.decision import Basis, Denial
from sharing.agreements.actions import record_reservation
from sharing.audit.models import AuditEvent
from sharing.fhir.ingest import normalise_for
from sharing.identifiers import SYSTEM_DNR, SYSTEM_FHN, SYSTEM_FNR, parse_national_id
from sharing.measurements.actions import record_measurements
from sharing.measurements.identity import link_identity, parse_identifier
from sharing.measurements.models import IdentityLink
from tests.actors import INGRID

pytestmark = pytest.mark.django_db

DNR = "55889030088"  # Tenor D-number (domain.md §4)
OTHER_FNR = "15888540013"
ADMIN = dataclasses.replace(INGRID, name="Oslo admin", pid="12837826592")


def fhn() -> str:
    """A felles hjelpenummer: first digit 8, FNR-style control digits."""
    for n in range(10_000_000, 10_100_000):
        digits = f"8{n:08d}"
        k1 = (11 - sum(int(d) * w for d, w in zip(digits, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11) % 11
        if k1 == 10:
            continue
        digits += str(k1)
        k2 = (11 - sum(int(d) * w for d, w in zip(digits, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11) % 11
        if k2 != 10:
            return digits + str(k2)
    raise AssertionError("no FHN found")


def send_under(number: str, system: str, *, days: int, end: dt.date) -> int:
    """Oslo's measurements for Kari Nordmann's body, sent under another number (before her fødselsnummer)."""
    patient = dataclasses.replace(demo.PATIENTS[0], pid=number)
    resources = list(demo.patient_observations(patient, days=days, end=end))
    for r in resources:
        r["subject"]["identifier"]["system"] = system
    now = timezone.now()
    record_measurements(items=[(normalise_for(r, demo.OSLO, now=now), r) for r in resources], source_orgnr=demo.OSLO)
    return len(resources)


@pytest.fixture
def d_history(patient_data):
    """Kari's 120 days under her fødselsnummer, and 30 earlier days under a D-number."""
    send_under(DNR, SYSTEM_DNR, days=30, end=timezone.localdate() - dt.timedelta(days=130))
    return patient_data


def look_up(number: str, basis: Basis = Basis.CARE, reason: str = ""):
    access = read_patient(
        by=INGRID,
        patient=parse_national_id(number),
        basis=basis,
        reason=reason,
        event="patient.lookup",
        gather=lambda qs, _d: list(qs),
        describe=lambda rows: {"count": len(rows)},
    )
    return access.decision, access.result or []


def link(old: str, new: str, municipality: str = demo.OSLO, instruction: str = "Oslo, sak 2026/77"):
    return link_identity(
        old=parse_identifier(old),
        new=parse_identifier(new),
        municipality=municipality,
        instruction=instruction,
        by=ADMIN,
    )


def test_without_a_link_the_fnr_shows_only_its_own_history(d_history):
    _decision, rows = look_up(d_history)
    assert rows and {m.patient_value for m in rows} == {d_history}


def test_lookup_by_either_number_shows_the_whole_history(d_history):
    before = len(look_up(d_history)[1])
    link(f"{SYSTEM_DNR}|{DNR}", f"{SYSTEM_FNR}|{d_history}")
    by_fnr, rows_fnr = look_up(d_history)
    by_dnr, rows_dnr = look_up(DNR)
    assert {m.patient_value for m in rows_fnr} == {d_history, DNR}
    assert {m.id for m in rows_fnr} == {m.id for m in rows_dnr}
    assert len(rows_fnr) > before
    assert (by_fnr.linked, by_dnr.linked) == ((DNR,), (d_history,))
    # The record names the number looked up, and the linked numbers the read covered.
    records = list(AuditEvent.objects.filter(event="patient.lookup").order_by("id"))
    assert [(r.patient_value, r.data.get("linked_patients")) for r in records[-2:]] == [
        (d_history, [DNR]),
        (DNR, [d_history]),
    ]
    assert records[-1].data["count"] == len(rows_dnr)


def test_a_reservation_under_the_old_number_holds_for_the_new(d_history, oslo):
    link(DNR, d_history)
    record_reservation(municipality=oslo[demo.OSLO], patient_value=DNR, objected_on=timezone.localdate(), by=ADMIN)
    decision, rows = look_up(d_history)
    assert (decision.granted, decision.denial, rows) == (False, Denial.RESERVED, [])
    record = AuditEvent.objects.filter(event="patient.lookup").latest("id")
    assert (record.outcome, record.data["linked_patients"]) == ("denied", [DNR])


def test_a_reservation_under_the_new_number_holds_for_the_old(d_history, oslo):
    link(DNR, d_history)
    record_reservation(
        municipality=oslo[demo.OSLO], patient_value=d_history, objected_on=timezone.localdate(), by=ADMIN
    )
    assert look_up(DNR)[0].denial == Denial.RESERVED


def test_the_link_is_recorded_with_who_when_and_on_whose_instruction(d_history):
    made = link(DNR, d_history)
    assert (made.old_system, made.new_system, made.municipality_orgnr) == (SYSTEM_DNR, SYSTEM_FNR, demo.OSLO)
    assert (made.recorded_by, made.instruction) == ("Oslo admin", "Oslo, sak 2026/77")
    record = AuditEvent.objects.get(event="identity.link")
    assert (record.patient_value, record.data["old_value"], record.reason) == (d_history, DNR, "Oslo, sak 2026/77")
    assert record.municipalities == demo.OSLO


def test_the_same_link_again_changes_nothing(d_history):
    first = link(DNR, d_history)
    again = link(DNR, d_history)
    assert first.pk == again.pk
    assert AuditEvent.objects.filter(event="identity.link").count() == 1


def test_an_fhn_can_be_linked_too(patient_data):
    number = fhn()
    send_under(number, SYSTEM_FHN, days=5, end=timezone.localdate() - dt.timedelta(days=200))
    link(f"{SYSTEM_FHN}|{number}", patient_data)
    assert {m.patient_value for m in look_up(number)[1]} == {number, patient_data}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (OTHER_FNR, "{fnr}", "To fødselsnumre kobles aldri sammen."),
        ("{fnr}", DNR, "må være et D-nummer eller et felles hjelpenummer"),
        (DNR, DNR, "må være et fødselsnummer"),
        ("10447210016", "{fnr}", "Et H-nummer er internt"),
    ],
)
def test_links_that_cannot_be_are_refused(d_history, old, new, message):
    old, new = old.format(fnr=d_history), new.format(fnr=d_history)
    with pytest.raises(ValidationError, match=message):
        link(old, new)
    assert not IdentityLink.objects.exists()
    assert not AuditEvent.objects.filter(event="identity.link").exists()


def test_an_old_number_is_not_linked_to_a_second_fnr(d_history):
    link(DNR, d_history)
    send_under(OTHER_FNR, SYSTEM_FNR, days=2, end=timezone.localdate())
    with pytest.raises(ValidationError, match="allerede koblet til et annet"):
        link(DNR, OTHER_FNR)
    assert IdentityLink.objects.get().new_value == d_history


def test_a_municipality_without_data_on_either_number_cannot_link(d_history):
    with pytest.raises(ValidationError, match="ingen målinger under noen"):
        link(DNR, d_history, municipality=demo.BAERUM)


@pytest.mark.parametrize(
    "token",
    ["5588903008", "55889030089", f"{SYSTEM_FNR}|{DNR}", "urn:oid:1.2.3|55889030088"],
)
def test_bad_identifiers_are_refused_with_a_message(token):
    with pytest.raises(ValidationError) as caught:
        parse_identifier(token)
    assert caught.value.messages[0] and DNR not in caught.value.messages[0]


def test_the_command_links_system_value_tokens(d_history, capsys):
    call_command(
        "link_identity",
        "--municipality",
        demo.OSLO,
        "--old",
        f"{SYSTEM_DNR}|{DNR}",
        "--new",
        f"{SYSTEM_FNR}|{d_history}",
        "--instruction",
        "Brev fra Oslo kommune",
    )
    assert IdentityLink.objects.get().recorded_by.startswith("link_identity")
    call_command("link_identity", "--municipality", demo.OSLO)
    assert f"{DNR} → {d_history}" in capsys.readouterr().out


def test_the_command_reads_a_fhir_patient_with_a_replaces_link(d_history, tmp_path):
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM_FNR, "value": d_history}],
        "link": [{"type": "replaces", "other": {"identifier": {"system": SYSTEM_DNR, "value": DNR}}}],
    }
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    call_command("link_identity", "--municipality", demo.OSLO, "--patient", str(path), "--instruction", "Sak 12")
    assert IdentityLink.objects.get().old_value == DNR


def test_the_command_refuses_two_fnr_with_the_reason(d_history):
    with pytest.raises(CommandError, match="kobles aldri sammen"):
        call_command(
            "link_identity", "--municipality", demo.OSLO, "--old", OTHER_FNR, "--new", d_history, "--instruction", "x"
        )
    assert not IdentityLink.objects.exists()


def test_the_patients_access_report_follows_the_link(d_history):
    """Innsyn i logg about the person: a read made under the D-number before the link is listed
    when the report is asked for by the fødselsnummer (and the reverse); an unlinked number's
    reads are not."""
    from sharing.access.auditlog import patient_access_report
    from sharing.audit.scope import AuditScope
    from sharing.core.actor import Actor, Role

    look_up(DNR)  # a read under the D-number alone (no link yet)
    look_up(OTHER_FNR)  # somebody else
    jonas = Actor(
        sub="sub-jonas", name="Jonas Strand", orgnr_parent=demo.OSLO, grants=frozenset({(Role.AUDITOR, demo.OSLO)})
    )
    scope = AuditScope(frozenset({demo.OSLO}))

    def reported(number: str) -> set[str]:
        report = patient_access_report(by=jonas, scope=scope, patient=number, fmt="html")
        return {r.patient_value for r in report.records}

    assert reported(d_history) == set()  # before the link: the D-number's read is not the fnr's
    link(f"{SYSTEM_DNR}|{DNR}", f"{SYSTEM_FNR}|{d_history}")
    assert reported(d_history) == {DNR}
    look_up(d_history)
    assert reported(DNR) == {DNR, d_history}


@pytest.mark.parametrize("to", ["same", "another"])
def test_a_municipality_without_data_learns_nothing_of_another_municipalitys_link(d_history, to):
    """Bærum holds nothing under either number: Oslo's link is not revealed, whether Bærum asks for
    the same link or another; the refusal is the one any number without data gets."""
    link(DNR, d_history)
    send_under(OTHER_FNR, SYSTEM_FNR, days=2, end=timezone.localdate())  # Oslo's data, not Bærum's
    target = d_history if to == "same" else OTHER_FNR
    with pytest.raises(ValidationError, match="ingen målinger under noen") as refused:
        link(DNR, target, municipality=demo.BAERUM)
    with pytest.raises(ValidationError) as unlinked:
        link(fhn(), target, municipality=demo.BAERUM)
    assert refused.value.messages == unlinked.value.messages
    assert IdentityLink.objects.count() == 1
