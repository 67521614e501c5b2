"""The client guide in docs/fhir-api.md, run as written against a live server (fhirpy and fhirclient)."""

import json
import os
import re
import subprocess
from pathlib import Path

import jwt
import pytest
from fhirpy import SyncFHIRClient

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.audit.models import AuditEvent
from sharing.identifiers import SYSTEM_FNR

pytestmark = pytest.mark.django_db(transaction=True)
GUIDE = Path(__file__).resolve().parents[3] / "docs" / "fhir-api.md"


def _snippets() -> list[str]:
    text = GUIDE.read_text().split("## Client guide", 1)[1]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_guide_has_the_hook_and_both_python_clients():
    snippets = _snippets()
    assert len(snippets) == 3
    assert "class DPoP" in snippets[0] and "fhirpy" in snippets[1] and "fhirclient" in snippets[2]


def test_the_python_snippets_run_against_a_live_server(live_server, helseid, patient_data):
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    scope = {
        "base": f"{live_server.url}/fhir",
        "patient": f"{SYSTEM_FNR}|{patient_data}",
        "token": token,
        "key": key.key,
    }
    try:
        for snippet in _snippets():
            exec(compile(snippet, str(GUIDE), "exec"), scope)  # noqa: S102 - our own documentation
    finally:  # fhirclient keeps its connection (and with it a live-server thread and its database session)
        if "smart" in scope:
            scope["smart"].session.close()
    # fhirpy: count(), one page, paging to the end, _id, read, vread, history, a sync poll.
    assert scope["total"] == len(scope["everything"]) > 100
    assert len(scope["newest"]) == 10
    assert len({o["id"] for o in scope["everything"]}) == scope["total"]
    assert scope["one"]["id"] == scope["again"]["id"] == scope["newest"][0]["id"]
    assert scope["first_version"]["meta"]["versionId"] == "1"
    assert scope["history"]["type"] == "history" and scope["history"]["total"] == 1
    assert scope["changed"] == []
    # fhirclient: the pre-R4 date form, paging to the end, read.
    assert {o.id for o in scope["found"]} == {o["id"] for o in scope["everything"]}
    assert scope["observation"].id == scope["found"][0].id and scope["version"] == "1"


# --- fhir-kit-client (npm), run by node ----------------------------------------------------

REPO = GUIDE.parents[1]
# What the test gives the JavaScript snippet, as the Python ones get `base`, `patient`, `token` and
# `key`; and what it prints afterwards for the assertions.
PREAMBLE = """import { importJWK } from 'jose';
const { base, patient, token } = process.env;
const bound = JSON.parse(process.env.KEY);
const privateKey = await importJWK(bound, 'ES256');
const publicKey = await importJWK({ kty: bound.kty, crv: bound.crv, x: bound.x, y: bound.y }, 'ES256');
"""
REPORT = """
console.log(JSON.stringify({
  ids: everything.map((entry) => entry.resource.id),
  again: again.id,
  version: again.meta.versionId,
  first: first.meta.versionId,
}));
"""


def _js_snippet() -> str:
    text = GUIDE.read_text().split("## Client guide", 1)[1]
    [snippet] = re.findall(r"```js\n(.*?)```", text, flags=re.DOTALL)
    return snippet


def test_the_javascript_snippet_runs_against_a_live_server(live_server, helseid, patient_data, tmp_path):
    """fhir-kit-client (pinned in package.json) with the guide's requestSigner as its DPoP hook."""
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    # node finds fhir-kit-client and jose in the project's node_modules.
    (tmp_path / "node_modules").symlink_to(REPO / "node_modules")
    script = tmp_path / "guide.mjs"
    script.write_text(PREAMBLE + _js_snippet() + REPORT)
    env = {
        "PATH": os.environ["PATH"],
        "base": f"{live_server.url}/fhir",
        "patient": f"{SYSTEM_FNR}|{patient_data}",
        "token": token,
        "KEY": json.dumps(jwt.algorithms.ECAlgorithm.to_jwk(key.key, as_dict=True)),
    }
    run = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603, S607
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # The same heart rates fhirpy finds, paged to the end through the next links (more than one page).
    client = SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"auth": DpopAuth(token, key)})
    expected = [
        o["id"]
        for o in client.resources("Observation")
        .search(**{"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"}, code="http://loinc.org|8867-4")
        .limit(1000)
        .fetch_all()
    ]
    assert len(result["ids"]) > 50 and sorted(result["ids"]) == sorted(expected)
    assert result["again"] == result["ids"][0]
    assert result["version"] == result["first"] == "1"
    # Every request of the snippet went through the one door and was logged as granted.
    assert AuditEvent.objects.filter(event="api.read", outcome="granted").count() >= 2
