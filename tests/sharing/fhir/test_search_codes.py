"""How a code search picks rows: a known code by its kind (one index probe), others by the code."""

import datetime as dt

import pytest
from django.utils import timezone

from sharing.fhir.search import parse_query
from sharing.identifiers import SYSTEM_FNR
from sharing.measurements.models import Measurement
from tests.portal.clinician.factories import KARI, measurement, store

pytestmark = pytest.mark.django_db

LOINC = "http://loinc.org"


@pytest.fixture
def rows() -> dict[str, Measurement]:
    now = timezone.now()
    heart, other = store(
        [
            measurement(kind="heart_rate", effective=now - dt.timedelta(hours=2), value=71),
            # A code no profile knows is stored as kind "other" under its own code.
            measurement(kind="other", effective=now - dt.timedelta(hours=1), value=3.2),
        ]
    )
    return {"heart": heart, "other": other}


def _found(code: str) -> set[str]:
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{KARI}"], "code": [code]})
    return {m.kind for m in query.filter(Measurement.objects.all())}


def test_a_known_code_is_matched_by_its_kind_alone(rows):
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{KARI}"], "code": [f"{LOINC}|8867-4"]})
    sql = str(query.filter(Measurement.objects.all()).query)
    assert '"kind" IN (heart_rate)' in sql and '"code" =' not in sql, sql
    assert _found(f"{LOINC}|8867-4") == {"heart_rate"}


def test_an_unknown_code_is_matched_by_the_code_itself(rows):
    assert rows["other"].code == "0000-0"
    assert _found(f"{LOINC}|0000-0") == {"other"}
    assert _found("http://example.org|0000-0") == set()  # the system counts


def test_a_code_without_a_system_matches_any_system(rows):
    assert _found("8867-4") == {"heart_rate"}


def test_known_and_unknown_codes_together_are_or(rows):
    assert _found(f"{LOINC}|8867-4,{LOINC}|0000-0") == {"heart_rate", "other"}
