"""Every code the API can put in details.coding (system api-error) is in the docs' tables.

The codes are read from the source: the first string of each ``Said``, ``SearchError`` and
``coded`` call, of ingest's ``error``/``_refused``/``_bad`` and the flag of each ``warn``. A code
added without a line in docs/fhir-api.md or docs/ingest.md fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# callee name: the position of the code among its arguments
CODE_AT = {"Said": 0, "SearchError": 0, "coded": 1, "error": 2, "_refused": 3, "_bad": 0, "warn": 0}


def _texts(node: ast.expr | None, names: dict[str, list[str]]) -> list[str]:
    """The strings an argument can be: a literal, either side of ``a if c else b``, or a name bound
    to those in the module (``FLAG``, ``flag = "x" if c else "y"``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _texts(node.body, names) + _texts(node.orelse, names)
    return names.get(node.id, []) if isinstance(node, ast.Name) else []


def _codes_in_source() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((ROOT / "sharing" / "fhir").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: dict[str, list[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.IfExp):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, []).extend(_texts(node.value, {}))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                at = CODE_AT.get(name)
                if at is not None and len(node.args) > at:
                    found.update(dict.fromkeys(_texts(node.args[at], names), path.name))
                code = next((k.value for k in node.keywords if k.arg == "code"), None)
                if name == "_number":  # the AuditEvent search's _count and _page
                    found.update(dict.fromkeys(_texts(code, names), path.name))
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_GENERIC":
                for value in getattr(node.value, "values", []):
                    first = value.elts[0]
                    if isinstance(first, ast.Constant):
                        found[first.value] = path.name
    found.pop("", None)  # a part of a message (words.the_component), not a message of its own
    return found


def test_the_source_yields_the_codes_it_should() -> None:
    codes = _codes_in_source()
    # one of each way a code is given, so that a change in how they are written is noticed here
    assert {"unit-invalid", "implausible-value", "resource-required", "since-invalid", "page-invalid"} <= set(codes)
    assert {"unknown-component", "components-ignored"} <= set(codes)
    assert {"param-unknown", "token-invalid", "parse-error", "no-such-url", "already-stored"} <= set(codes)
    assert len(codes) > 120


def test_every_code_is_in_the_docs() -> None:
    docs = "".join((ROOT / "docs" / name).read_text(encoding="utf-8") for name in ("fhir-api.md", "ingest.md"))
    documented = set(re.findall(r"`([a-z0-9-]+)`", docs))
    missing = {code: where for code, where in _codes_in_source().items() if code not in documented}
    assert not missing, f"codes missing from docs/fhir-api.md and docs/ingest.md: {missing}"
