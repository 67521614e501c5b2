"""The layers point one way, and measurement rows have one door (docs/adr/0006-one-door.md).

The import contracts live in pyproject.toml ([tool.importlinter]); `make check` runs them with
`lint-imports`, and so does this test, so `make test` keeps them too. The second check reads the
source itself: no module outside the access layer queries the measurement tables, whatever it
imports (a query is a query even when the model arrives through a function argument's module).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tables behind a patient's measurements, by model and by table name.
MODELS = {"Measurement", "RawResource", "MeasurementVersion", "PatientSource", "PatientCode"}
TABLES = (
    "measurements_measurement",
    "measurements_rawresource",
    "measurements_measurementversion",
    "measurements_patientcode",
)
# Who may query them: the access layer (every read, through Measurement.objects.granted), the
# measurements app itself (its QuerySets and the ingest writes), and the development data
# generator (writes generated rows; never installed in production).
ALLOWED = ("sharing/access/", "sharing/measurements/", "devdata/")


def test_the_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def queries_of_measurement_rows(source: str) -> list[str]:
    """Where `source` reaches the measurement tables: `Model.objects`, `Model._default_manager`,
    `Model.objects.raw(...)`, or a table name in a string (raw SQL)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("objects", "_default_manager")
            and isinstance(node.value, ast.Name)
            and node.value.id in MODELS
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and any(t in node.value for t in TABLES):
            found.append(f"line {node.lineno}: SQL naming a measurement table")
    return found


def test_the_scan_finds_a_query_outside_the_door():
    """The old FHIR read loaded the row itself, before any decision: the scan must see that."""
    old_read = 'found = Measurement.objects.visible().select_related("raw").filter(pk=measurement_id).first()'
    assert queries_of_measurement_rows(old_read) == ["line 1: Measurement.objects"]
    assert queries_of_measurement_rows('cursor.execute("SELECT * FROM measurements_rawresource")')
    assert queries_of_measurement_rows("rows = granted.filter(kind='heart_rate')") == []


def test_only_the_access_layer_queries_measurement_rows():
    offenders = {}
    for package in ("sharing", "portal"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(ALLOWED) or "/migrations/" in relative:
                continue
            if found := queries_of_measurement_rows(path.read_text(encoding="utf-8")):
                offenders[relative] = found
    assert offenders == {}
