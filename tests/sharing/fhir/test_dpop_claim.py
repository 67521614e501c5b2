"""A read's DPoP proof is recorded as used with the request's audit record (one statement), or on
its own before the answer when no record is written; a replay is refused either way, and nothing
it asked for leaves (sharing/core/claims.py)."""

import concurrent.futures
import datetime as dt

import pytest
import requests
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.login.devclient import DpopKey, epj_user_token
from sharing.audit import actions
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor
from sharing.core.claims import ClaimRefused, OneTimeClaim
from sharing.fhir.dpop import REPLAYED
from sharing.fhir.models import UsedDpopProof
from sharing.identifiers import SYSTEM_FNR
from sharing.measurements.models import Measurement

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "00000000-0000-4000-8000-000000000000"


def _claim(value: str) -> OneTimeClaim:
    return OneTimeClaim(UsedDpopProof._meta.db_table, "jti", "seen_at", value, timezone.now())


def _record(claim: OneTimeClaim | None, n: int = 0) -> AuditEvent:
    return record_event(event="test.claim", outcome="success", by=Actor(sub="epj", claim=claim), data={"n": n})


# --- the audit writer ---------------------------------------------------------------------------


def test_the_claim_is_recorded_in_the_records_statement():
    _record(None)  # the process learns the chain's head
    claim = _claim("proof-1")
    with CaptureQueriesContext(connection) as queries:
        record = _record(claim)
    # The statement that claims in fhir_useddpopproof (prepared on the connection, sharing/audit/actions.py).
    claiming, _sql, _arguments = actions._append_statement((UsedDpopProof._meta.db_table, "jti", "seen_at"))
    assert len(queries) == 1 and f"EXECUTE {claiming}_" in queries[0]["sql"]
    assert claim.claimed
    assert UsedDpopProof.objects.filter(jti="proof-1").exists()
    assert AuditEvent.objects.filter(pk=record.pk).exists()


def test_a_claim_used_before_inserts_no_record_and_is_refused():
    _record(_claim("proof-2"))
    again = _claim("proof-2")
    with pytest.raises(ClaimRefused):
        _record(again, 1)
    assert not again.claimed
    assert AuditEvent.objects.filter(event="test.claim").count() == 1


def test_inside_a_transaction_the_claim_counts_once_committed():
    _record(None)
    claim = _claim("proof-3")
    with transaction.atomic():
        _record(claim)
        assert not claim.claimed  # not yet committed
    assert claim.claimed and UsedDpopProof.objects.filter(jti="proof-3").exists()


def test_a_claim_rolled_back_with_its_transaction_is_not_recorded():
    _record(None)
    claim = _claim("proof-4")
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(claim)
        raise RuntimeError("the caller's transaction fails")
    assert not claim.claimed and not UsedDpopProof.objects.filter(jti="proof-4").exists()


def test_a_claim_made_when_the_head_was_missed_is_not_made_twice():
    """The message that missed the head committed the claim; the second try must not claim again."""
    from sharing.audit import actions

    first = _record(None)
    actions._known_head[actions.head_key()] = "d" * 64
    claim = _claim("proof-5")
    record = _record(claim)
    assert claim.claimed and record.prev_hash == first.hash
    assert UsedDpopProof.objects.filter(jti="proof-5").count() == 1


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def token(helseid, patient_data, dpop_key):
    return epj_user_token(helseid, "ingrid-berg", dpop_key)


def _get(url: str, token: str, proof: str, **params: str) -> requests.Response:
    return requests.get(url, params=params, headers={"Authorization": f"DPoP {token}", "DPoP": proof}, timeout=10)


def test_a_replayed_read_by_id_is_refused_and_not_logged(live_server, token, patient_data, dpop_key, caplog):
    measurement = Measurement.objects.filter(patient_value=patient_data).first()
    url = f"{live_server.url}/fhir/Observation/{measurement.pk}"
    proof = dpop_key.proof("GET", url, token)
    assert _get(url, token, proof).status_code == 200
    caplog.clear()
    replay = _get(url, token, proof)
    assert replay.status_code == 401 and "replay" in replay.text
    assert str(measurement.pk) not in replay.text
    assert AuditEvent.objects.filter(event="api.read").count() == 1
    # Refused once, by the record's statement: not again before the answer.
    assert [r.getMessage() for r in caplog.records].count(f"Rejected DPoP proof: {REPLAYED}") == 1


def test_a_proof_for_a_missing_resource_is_recorded_before_the_404(live_server, token, dpop_key):
    url = f"{live_server.url}/fhir/Observation/{MISSING}"
    proof = dpop_key.proof("GET", url, token)
    assert _get(url, token, proof).status_code == 404
    assert UsedDpopProof.objects.count() == 1
    assert _get(url, token, proof).status_code == 401


def test_a_replayed_search_with_another_query_gets_nothing(live_server, token, patient_data, dpop_key):
    """htu names the URL without its query: a captured proof replayed with another search."""
    url = f"{live_server.url}/fhir/Observation"
    proof = dpop_key.proof("GET", url, token)
    patient = {"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"}
    assert _get(url, token, proof, **patient, code="http://loinc.org|8867-4").status_code == 200
    replay = _get(url, token, proof, **patient, _count="1000")
    assert replay.status_code == 401 and "entry" not in replay.text
    assert AuditEvent.objects.filter(event="api.search").count() == 1


def test_the_same_proof_sent_four_times_at_once_is_answered_once(live_server, token, patient_data, dpop_key):
    url = f"{live_server.url}/fhir/Observation"
    proof = dpop_key.proof("GET", url, token)
    patient = {"patient.identifier": f"{SYSTEM_FNR}|{patient_data}", "_count": "5"}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = sorted(r.status_code for r in pool.map(lambda _: _get(url, token, proof, **patient), range(4)))
    assert codes == [200, 401, 401, 401]
    assert AuditEvent.objects.filter(event="api.search").count() == 1


def test_a_proof_from_another_key_is_still_refused_before_anything_is_read(live_server, token, patient_data):
    url = f"{live_server.url}/fhir/Observation"
    response = _get(
        url, token, DpopKey().proof("GET", url, token), **{"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"}
    )
    assert response.status_code == 401
    assert not AuditEvent.objects.filter(event="api.search").exists()
    assert not UsedDpopProof.objects.exists()


def test_old_proofs_are_still_forgotten(live_server, token, dpop_key):
    """The tidy-up now runs where the proof is recorded on its own or with the record."""
    stale = UsedDpopProof.objects.create(jti="stale")
    UsedDpopProof.objects.filter(pk=stale.pk).update(seen_at=timezone.now() - dt.timedelta(hours=1))  # auto_now_add
    url = f"{live_server.url}/fhir/Observation/{MISSING}"
    for _ in range(400):  # about 1 in 100 proofs tidies up
        _get(url, token, dpop_key.proof("GET", url, token))
        if not UsedDpopProof.objects.filter(pk=stale.pk).exists():
            break
    assert not UsedDpopProof.objects.filter(pk=stale.pk).exists()
