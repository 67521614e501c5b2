"""record_measurements: stored once, versions on correction, conflicts refused, in bulk."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.fhir.observation.normalise import normalise
from sharing.measurements.actions import Outcome, dedup_key, record_measurements
from sharing.measurements.models import Measurement, MeasurementVersion, PatientCode, PatientSource, RawResource
from tests.sharing.fhir.observation.builders import PATIENT_DNR, PATIENT_FNR, heart_rate

OSLO = "311111019"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
CLIENT = Actor(name="VKP Oslo kommune", orgnr_parent=OSLO, roles=frozenset({Role.SYSTEM_CLIENT}), client_id="vkp-oslo")


def _hr(value: float = 72, identifier: str = "obs-1", **top: Any) -> dict[str, Any]:
    resource = heart_rate(**top)
    resource["valueQuantity"]["value"] = value
    resource["identifier"][0]["value"] = identifier
    return resource


def _record(*resources: dict[str, Any]) -> list[Any]:
    items = [(normalise(r, now=NOW), r) for r in resources]
    return record_measurements(items=items, source_orgnr=OSLO, by=CLIENT)


def test_new_measurements_are_created_with_raw_resource_and_patient_source(db: None) -> None:
    [result] = _record(_hr())
    assert (result.outcome, result.version, result.created) == (Outcome.CREATED, 1, True)
    stored = Measurement.objects.get()
    assert (stored.id, stored.version, stored.client_id, len(stored.fingerprint)) == (
        result.measurement_id,
        1,
        "vkp-oslo",
        64,
    )
    assert RawResource.objects.get().resource["identifier"][0]["value"] == "obs-1"
    assert PatientSource.objects.filter(patient_value=PATIENT_FNR, source_orgnr=OSLO).exists()


def test_a_resend_changes_nothing(db: None) -> None:
    [first] = _record(_hr())
    [again] = _record(_hr())
    assert (again.outcome, again.measurement_id) == (Outcome.UNCHANGED, first.measurement_id)
    assert Measurement.objects.count() == 1 and not MeasurementVersion.objects.exists()


def test_a_changed_value_under_the_same_identifier_is_a_new_version(db: None) -> None:
    _record(_hr(70))
    [result] = _record(_hr(74, status="corrected"))
    assert (result.outcome, result.version) == (Outcome.UPDATED, 2)
    stored = Measurement.objects.get()
    assert (stored.value, stored.status, stored.version) == (74, "corrected", 2)
    assert stored.updated_at is not None
    earlier = MeasurementVersion.objects.get()
    assert (earlier.version, earlier.content["value"], earlier.content["status"]) == (1, 70, "final")
    assert earlier.resource["valueQuantity"]["value"] == 70
    assert earlier.client_id == "vkp-oslo"


def test_every_earlier_version_stays_recognised(db: None) -> None:
    _record(_hr(70))
    _record(_hr(71, status="amended"))
    _record(_hr(72, status="amended"))
    results = _record(_hr(70), _hr(71, status="amended"), _hr(72, status="amended"))
    assert [r.outcome for r in results] == [Outcome.UNCHANGED] * 3
    assert Measurement.objects.get().version == 3
    assert list(MeasurementVersion.objects.order_by("version").values_list("version", flat=True)) == [1, 2]


def test_status_change_alone_is_a_new_version_and_entered_in_error_hides(db: None) -> None:
    _record(_hr())
    [result] = _record(_hr(status="entered-in-error"))
    assert result.outcome is Outcome.UPDATED
    assert Measurement.objects.count() == 1
    assert not Measurement.objects.visible().exists()
    assert Measurement.objects.get().hidden


def test_another_patient_under_the_same_identifier_is_a_conflict(db: None) -> None:
    _record(_hr())
    moved = _hr()
    moved["subject"]["identifier"] = {"system": "urn:oid:2.16.578.1.12.4.1.4.2", "value": PATIENT_DNR}
    [result] = _record(moved)
    assert result.outcome is Outcome.CONFLICT and not result.stored
    assert Measurement.objects.get().patient_value == PATIENT_FNR


def test_without_identifier_or_id_the_content_hash_is_the_identity(db: None) -> None:
    plain = _hr()
    del plain["identifier"], plain["id"]
    [first] = _record(plain)
    assert Measurement.objects.get().dedup_key.startswith("hash:")
    [again] = _record(copy.deepcopy(plain))
    [withdrawn] = _record({**plain, "status": "entered-in-error"})
    assert (again.outcome, withdrawn.outcome) == (Outcome.UNCHANGED, Outcome.UPDATED)
    assert withdrawn.measurement_id == first.measurement_id


def test_a_long_identifier_is_hashed_not_cut(db: None) -> None:
    long_a, long_b = "a" * 400 + "1", "a" * 400 + "2"
    results = _record(_hr(identifier=long_a), _hr(identifier=long_b))
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    keys = set(Measurement.objects.values_list("dedup_key", flat=True))
    assert all(k.startswith("identifier:sha256:") and len(k) <= 300 for k in keys) and len(keys) == 2


def test_in_one_call_duplicates_and_corrections_apply_in_order(db: None) -> None:
    results = _record(_hr(70), _hr(70), _hr(75, status="amended"), _hr(70))
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.UPDATED, Outcome.UNCHANGED]
    stored = Measurement.objects.get()
    assert (stored.value, stored.version) == (75, 2)
    assert RawResource.objects.get().resource["valueQuantity"]["value"] == 75
    assert MeasurementVersion.objects.get().resource["valueQuantity"]["value"] == 70


def test_corrections_are_audited_per_patient(db: None) -> None:
    _record(_hr(70, "a"), _hr(80, "b"))
    _record(_hr(71, "a", status="corrected"), _hr(81, "b", status="corrected"))
    event = AuditEvent.objects.get(event="ingest.corrected")
    assert (event.patient_value, event.client_id, event.data["count"]) == (PATIENT_FNR, "vkp-oslo", 2)


def test_a_row_stored_without_fingerprint_is_still_recognised(db: None) -> None:
    _record(_hr())
    Measurement.objects.update(fingerprint="")  # e.g. written by a bulk loader
    [again] = _record(_hr())
    assert again.outcome is Outcome.UNCHANGED


def test_the_database_keeps_the_codes_each_patient_has(db: None) -> None:
    """PatientCode ($lastn's groups) is kept by triggers: by ingest, by a correction that changes the
    code, and by rows written past ingest (a bulk load), each code once."""

    def codes() -> set[tuple[str, str, str, str]]:
        return set(PatientCode.objects.values_list("patient_value", "kind", "code_system", "code"))

    _record(_hr(), _hr(value=80, identifier="obs-2"))
    assert codes() == {(PATIENT_FNR, "heart_rate", "http://loinc.org", "8867-4")}
    snomed_only = _hr(value=75, identifier="obs-2")
    snomed_only["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "364075005"}]}
    _record(snomed_only)  # a correction of obs-2, now coded SNOMED CT alone
    assert Measurement.objects.get(dedup_key__endswith="obs-2").code == "364075005"
    loaded = Measurement.objects.get(dedup_key__endswith="obs-1")
    loaded.pk, loaded.dedup_key, loaded.patient_value = uuid.uuid4(), "bulk-1", PATIENT_DNR
    Measurement.objects.bulk_create([loaded])
    assert codes() == {
        (PATIENT_FNR, "heart_rate", "http://loinc.org", "8867-4"),
        (PATIENT_FNR, "heart_rate", "http://snomed.info/sct", "364075005"),
        (PATIENT_DNR, "heart_rate", "http://loinc.org", "8867-4"),
    }
    assert PatientCode.objects.filter(patient_value=PATIENT_FNR).values("source_orgnr").distinct().get() == {
        "source_orgnr": OSLO
    }


def test_a_bundle_is_stored_with_a_constant_number_of_queries(db: None, django_assert_max_num_queries: Any) -> None:
    resources = [_hr(60 + i % 40, f"bulk-{i}") for i in range(500)]
    items = [(normalise(r, now=NOW), r) for r in resources]
    with django_assert_max_num_queries(8):
        results = record_measurements(items=items, source_orgnr=OSLO, by=CLIENT)
    assert sum(r.created for r in results) == 500
    with django_assert_max_num_queries(10):
        again = record_measurements(items=items, source_orgnr=OSLO, by=CLIENT)
    assert {r.outcome for r in again} == {Outcome.UNCHANGED}


def test_dedup_key_prefers_identifier_then_id() -> None:
    with_identifier = normalise(_hr(), now=NOW)
    without = _hr()
    del without["identifier"]
    assert dedup_key(with_identifier) == "identifier:https://kommune.example/dho/observation|obs-1"
    assert dedup_key(normalise(without, now=NOW)) == "id:hr-1"


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_of_the_same_measurement_leave_one_row() -> None:
    """Eight connections insert the same measurement at the same moment: the unique constraint decides."""
    item = (normalise(_hr(), now=NOW), _hr())
    barrier = threading.Barrier(8)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.extend(r.outcome for r in record_measurements(items=[item], source_orgnr=OSLO, by=CLIENT))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(outcomes) == sorted([Outcome.CREATED] + [Outcome.UNCHANGED] * 7)
    assert Measurement.objects.count() == 1 and RawResource.objects.count() == 1


def test_an_earlier_version_cannot_be_changed(db: None) -> None:
    _record(_hr(70))
    _record(_hr(71, status="amended"))
    earlier = MeasurementVersion.objects.get()
    earlier.status = "final"
    with pytest.raises(TypeError):
        earlier.save()
