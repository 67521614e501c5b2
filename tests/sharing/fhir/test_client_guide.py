"""The client guide in docs/fhir-api.md, run as written against a live server (fhirpy and fhirclient)."""

import re
from pathlib import Path

import pytest

from portal.login.devclient import DpopKey, epj_user_token
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
