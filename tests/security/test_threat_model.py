"""docs/security.md names the tests that cover each threat: every one it names must exist."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOC = ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?::(\w+)`")


def references() -> list[tuple[str, str]]:
    found, current = [], ""
    for path, name in REFERENCE.findall(DOC.read_text()):
        current = path or current
        found.append((current, name))
    return found


def test_the_threat_model_names_many_tests() -> None:
    assert len(references()) > 80
    assert all(section in DOC.read_text() for section in ("Ingest", "Login", "Lookup", "FHIR read", "Audit"))


def test_every_test_the_threat_model_names_exists() -> None:
    missing = [
        f"{path}::{name}"
        for path, name in references()
        if not (ROOT / path).exists() or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert not missing, missing
