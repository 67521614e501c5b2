"""One answer asked for in Norwegian (the default), English and Danish: the same answer, worded once each.

docs/fhir-api.md, "Errors and their language": every issue carries a stable code in details.coding,
and diagnostics equal to details.text, in Norwegian unless Accept-Language prefers English; a
language we do not speak gets Norwegian. ``same_answer_in_two_languages`` checks that for an
OperationOutcome or a batch-response (each entry's outcome).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"
DENIAL_SYSTEM = "https://maaledata.no/fhir/CodeSystem/access-denial"
ASKED = {"nb": {}, "en": {"Accept-Language": "en-GB,en;q=0.9"}, "da": {"Accept-Language": "da"}}

# Words only one of the two languages uses; a text that holds one of the other's is not worded
# in one language. Terms of art (FHIR's "Must Support") are taken out first, and so is a library's
# own reason, kept in parentheses as it was given (the JSON parser's, the FHIR model's).
ENGLISH = {"the", "must", "is", "are", "not", "and", "only", "was", "were", "needs", "required", "accepted", "stored"}
NORWEGIAN = {"er", "må", "ikke", "og", "bare", "ble", "påkrevd", "godtas", "mangler", "eller", "trenger", "lagret"}
TERMS = ("Must Support",)
LIBRARY_REASON = {"json-invalid", "element-invalid", "token-invalid", "dpop-proof-invalid"}


def issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome, or of every entry's outcome in a batch-response."""
    if body["resourceType"] == "OperationOutcome":
        return list(body["issue"])
    return [i for e in body.get("entry", []) for i in e["response"].get("outcome", {}).get("issue", [])]


def coding(issue: dict[str, Any]) -> tuple[str, str]:
    """(system, code) of the issue's one coding, after checking details.text is the diagnostics."""
    [found] = issue["details"]["coding"]
    assert issue["details"]["text"] == issue["diagnostics"], issue
    return found["system"], found["code"]


def words(text: str, code: str) -> set[str]:
    for term in TERMS:
        text = text.replace(term, "")
    if code in LIBRARY_REASON:
        text = text.split("(", 1)[0]
    return set(re.findall(r"[^\W\d_]+", text.lower()))


def _shape(issue: dict[str, Any]) -> tuple[Any, ...]:
    return issue["severity"], issue["code"], tuple(issue.get("expression", ())), coding(issue)


def _statuses(body: dict[str, Any]) -> list[str]:
    return [e["response"]["status"] for e in body.get("entry", [])]


def same_answer_in_two_languages(ask: Callable[[dict[str, str]], Any], status: int, *codes: str) -> list[str]:
    """Ask three times (no Accept-Language, English, Danish); check the answers differ only in their
    words, that each is worded in one language, and that `codes` are among the issues' codes.
    Returns the codes of the issues, in order."""
    answers = {language: ask(headers) for language, headers in ASKED.items()}
    for language, response in answers.items():
        assert response.status_code == status, (language, response.status_code, response.text[:500])
        assert response.headers["Content-Type"].startswith("application/fhir+json"), response.headers
    bodies = {language: response.json() for language, response in answers.items()}
    nb, en, da = (issues(bodies[language]) for language in ASKED)
    assert nb, bodies["nb"]
    assert [_shape(i) for i in nb] == [_shape(i) for i in en] == [_shape(i) for i in da], (nb, en)
    assert _statuses(bodies["nb"]) == _statuses(bodies["en"]) == _statuses(bodies["da"])
    found = [coding(i)[1] for i in nb]
    assert set(codes) <= set(found), (codes, found)
    for norwegian, english, danish in zip(nb, en, da, strict=True):
        code = coding(norwegian)[1]
        said, told = norwegian["diagnostics"], english["diagnostics"]
        assert said != told, (code, said)  # a message left untranslated would read the same in both
        assert danish["diagnostics"] == said, code  # a language we do not speak gets Norwegian
        assert not words(said, code) & ENGLISH, (code, said)
        assert not words(told, code) & NORWEGIAN, (code, told)
        assert "Ã" not in said, code
    return found
