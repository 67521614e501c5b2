"""$lastn is exact per code: a kind may hold two codes, a person two numbers, and the scope still holds.

The newest rows of each code are found by index probes over the codes the patient has
(`MeasurementQuerySet.newest_per_code`); here the answer is checked against every stored row,
grouped and ranked in Python.
"""

import dataclasses
import datetime as dt
from collections import defaultdict

import pytest
from django.utils import timezone

from devdata import demo
from sharing.core.basis import Basis
from sharing.fhir import reads
from sharing.fhir.ingest import normalise_for
from sharing.fhir.search import parse_query
from sharing.identifiers import SYSTEM_DNR, SYSTEM_FNR
from sharing.measurements.actions import record_measurements
from sharing.measurements.models import Measurement
from tests.actors import INGRID
from tests.sharing.access.test_identity_links import DNR, link

pytestmark = pytest.mark.django_db

LOINC_HR = ("http://loinc.org", "8867-4")
SNOMED_HR = ("http://snomed.info/sct", "364075005")
SAGENE = dataclasses.replace(INGRID, orgnr_parent=demo.SAGENE_GP, orgnr_child="")


def heart_rates(number: str, system: str, *, days: int, end: dt.date, code: tuple[str, str]) -> list[dict]:
    """Kari Nordmann's heart rates under `number`, coded with `code` alone."""
    patient = dataclasses.replace(demo.PATIENTS[0], pid=number)
    found = [r for r in demo.patient_observations(patient, days=days, end=end) if "8867-4" in str(r["code"])]
    for r in found:
        r["subject"]["identifier"]["system"] = system
        r["code"]["coding"] = [{"system": code[0], "code": code[1]}]
    return found


def send(resources: list[dict]) -> None:
    now = timezone.now()
    record_measurements(items=[(normalise_for(r, demo.OSLO, now=now), r) for r in resources], source_orgnr=demo.OSLO)


def last_n(number: str, max_per_code: int, by=INGRID, system: str = SYSTEM_FNR) -> list:
    query = parse_query({"patient.identifier": [f"{system}|{number}"]})
    return reads.last_n(by=by, query=query, basis=Basis.CARE, reason="", max_per_code=max_per_code)


def expected(numbers: list[str], max_per_code: int, since: dt.datetime | None = None) -> dict:
    """Per (kind, system, code): the ids of the newest `max_per_code` visible rows, from all of them."""
    groups = defaultdict(list)
    for m in Measurement.objects.filter(patient_value__in=numbers).exclude(status__in=Measurement.HIDDEN_STATUSES):
        if since is None or m.effective >= since:
            groups[(m.kind, m.code_system, m.code)].append(m)
    return {
        key: [m.id for m in sorted(rows, key=lambda m: m.effective, reverse=True)[:max_per_code]]
        for key, rows in groups.items()
    }


def found(rows: list) -> dict:
    by_code = defaultdict(list)
    for m in rows:  # in the answer's order: kind, then newest first
        by_code[(m.kind, m.code_system, m.code)].append(m.id)
    return dict(by_code)


@pytest.fixture
def two_codes_two_numbers(patient_data):
    """Kari's 120 days under her fødselsnummer (LOINC), and under her D-number, linked to it:
    heart rates coded SNOMED CT only, all older than every LOINC one, and one LOINC heart rate
    sent this morning, newer than anything under the fødselsnummer."""
    older = timezone.localdate() - dt.timedelta(days=125)
    send(heart_rates(DNR, SYSTEM_DNR, days=4, end=older, code=SNOMED_HR))
    newest = heart_rates(DNR, SYSTEM_DNR, days=1, end=timezone.localdate() - dt.timedelta(days=1), code=LOINC_HR)[0]
    newest["effectiveDateTime"] = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    newest["identifier"][0]["value"] += "-late"
    send([newest])
    link(f"{SYSTEM_DNR}|{DNR}", f"{SYSTEM_FNR}|{patient_data}")
    return patient_data, newest


@pytest.mark.parametrize("max_per_code", [1, 3])
def test_each_code_of_a_kind_has_its_own_latest_across_linked_numbers(two_codes_two_numbers, max_per_code):
    fnr, newest = two_codes_two_numbers
    answer = found(last_n(fnr, max_per_code))
    assert answer == expected([fnr, DNR], max_per_code)
    # Both heart-rate codes are there, the SNOMED CT one though all its rows are older than the
    # newest LOINC rows; the LOINC list starts with the D-number's row, newer than any under the fnr.
    snomed, loinc = answer[("heart_rate", *SNOMED_HR)], answer[("heart_rate", *LOINC_HR)]
    assert len(snomed) == len(loinc) == max_per_code
    late = Measurement.objects.get(patient_value=DNR, code=LOINC_HR[1])
    assert loinc[0] == late.id
    assert {Measurement.objects.get(pk=pk).patient_value for pk in loinc[1:]} <= {fnr}
    assert last_n(DNR, max_per_code, system=SYSTEM_DNR) == last_n(fnr, max_per_code)  # either number, one person


def test_a_withdrawn_measurement_and_rows_before_the_look_back_are_left_out(two_codes_two_numbers):
    fnr, newest = two_codes_two_numbers
    newest["status"] = "entered-in-error"  # the sender withdraws this morning's heart rate
    send([newest])
    answer = found(last_n(fnr, 2))
    assert answer == expected([fnr, DNR], 2)
    assert Measurement.objects.get(patient_value=DNR, code=LOINC_HR[1]).id not in answer[("heart_rate", *LOINC_HR)]
    # Sagene legesenter sees 90 days back: the SNOMED CT heart rates (125 days ago and more) are
    # outside its scope, so that code is not in its answer at all.
    scoped = found(last_n(fnr, 2, by=SAGENE))
    since = timezone.now() - dt.timedelta(days=91)
    assert ("heart_rate", *SNOMED_HR) not in scoped
    assert scoped == {key: ids for key, ids in expected([fnr, DNR], 2, since=since).items() if key in scoped}
    assert set(scoped) == set(answer) - {("heart_rate", *SNOMED_HR)}
