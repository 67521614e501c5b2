"""Incremental sync (docs/fhir-api.md): _lastUpdated picks up exactly what changed, withdrawals included."""

import pytest

from sharing.fhir.search import SearchError, parse_query
from tests.sharing.fhir.ingest_helpers import KARI, api, heart_rate
from tests.sharing.fhir.test_versions import reader

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["api", "reader"]
PATIENT = f"urn:oid:2.16.578.1.12.4.1.4.1|{KARI}"


def _changed_since(client, since):
    search = client.resources("Observation").search(**{"patient.identifier": PATIENT, "_lastUpdated": f"gt{since}"})
    return search.sort("_lastUpdated").limit(2).fetch_all()


def test_a_poll_picks_up_exactly_the_changed_measurements(api, reader):
    client, _get = reader
    for n in range(5):
        assert api.post(heart_rate(60 + n, identifier=f"hr-s{n}", hours_ago=n + 1)).status_code == 201
    first = client.resources("Observation").search(**{"patient.identifier": PATIENT}).fetch_all()
    assert len(first) == 5
    mark = max(o["meta"]["lastUpdated"] for o in first)

    assert _changed_since(client, mark) == []
    api.post({**heart_rate(99, identifier="hr-s1", hours_ago=2), "status": "corrected"})
    api.post({**heart_rate(62, identifier="hr-s2", hours_ago=3), "status": "entered-in-error"})
    api.post(heart_rate(70, identifier="hr-s5", hours_ago=10))
    changed = _changed_since(client, mark)  # pages of 2: the cursor follows the _lastUpdated order
    by_value = {o["valueQuantity"]["value"]: (o["status"], o["meta"]["versionId"]) for o in changed}
    assert by_value == {99: ("corrected", "2"), 62: ("entered-in-error", "2"), 70: ("final", "1")}
    times = [o["meta"]["lastUpdated"] for o in changed]
    assert times == sorted(times) and all(t > mark for t in times)
    # A plain search still hides the withdrawal.
    assert 62 not in {
        o["valueQuantity"]["value"]
        for o in client.resources("Observation").search(**{"patient.identifier": PATIENT}).fetch_all()
    }
    # And the next poll, from the newest lastUpdated seen, finds nothing.
    assert _changed_since(client, max(times)) == []


def test_last_updated_bounds_combine(api, reader, live_server):
    client, get = reader
    api.post(heart_rate(60, identifier="hr-b"))
    [one] = client.resources("Observation").search(**{"patient.identifier": PATIENT}).fetch()
    at = one["meta"]["lastUpdated"]
    for query, expected in ((f"ge{at}", 1), (f"le{at}", 1), (f"gt{at}", 0), (f"lt{at}", 0)):
        found = client.resources("Observation").search(**{"patient.identifier": PATIENT, "_lastUpdated": query})
        assert len(found.fetch()) == expected, query
    response = get(f"Observation?patient.identifier={KARI}&_lastUpdated=2026-01-01")
    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "last-updated-prefix"


@pytest.mark.parametrize("value", ["eq2026-01-01", "2026", "gtyesterday", "gt2026-13-45"])
def test_bad_last_updated_is_refused(value):
    with pytest.raises(SearchError):
        parse_query({"patient.identifier": [KARI], "_lastUpdated": [value]})
