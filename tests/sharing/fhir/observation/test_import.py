"""manage.py import_observations: Bundles and NDJSON through the API's own write path."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from devdata import demo
from sharing.audit.models import AuditEvent
from sharing.fhir.build import observation
from sharing.measurements.models import Measurement, RawResource

KARI = "30875928763"
DAY = (timezone.now() - dt.timedelta(days=2)).replace(microsecond=0)


def _hr(value: float, identifier: str, municipality: str = demo.OSLO) -> dict[str, Any]:
    return observation(
        kind="heart_rate",
        patient=KARI,
        patient_name="Kari Nordmann",
        effective=DAY - dt.timedelta(minutes=value),
        value=value,
        municipality_orgnr=municipality,
        identifier=identifier,
    )


def _run(*args: Any) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_observations", *map(str, args), stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": _hr(60 + i, f"imp-{i}")} for i in range(5)],
    }
    bundle_file = tmp_path / "export.json"
    bundle_file.write_text(json.dumps(bundle))
    bad_unit = _hr(70, "imp-bad")
    bad_unit["valueQuantity"]["code"] = "kg"
    lines = [
        json.dumps(_hr(80, "imp-nd-1")),
        json.dumps(_hr(60, "imp-0")),  # also in the Bundle: a duplicate
        "",
        "{not json",
        json.dumps(bad_unit),
        json.dumps(_hr(81, "imp-other", municipality=demo.BAERUM)),  # performer is another municipality
    ]
    ndjson = tmp_path / "more.ndjson"
    ndjson.write_text("\n".join(lines) + "\n")
    return [bundle_file, ndjson]


def test_import_reports_accepted_duplicate_and_rejected(oslo: Any, files: list[Path]) -> None:
    output = _run(*files, "--municipality", demo.OSLO)
    assert "10 resources: 6 accepted, 0 updated, 1 duplicate, 3 rejected." in output
    assert "code-invalid at Observation.valueQuantity.code" in output
    assert "forbidden at Observation.performer" in output
    assert Measurement.objects.count() == RawResource.objects.count() == 6
    assert set(Measurement.objects.values_list("client_id", flat=True)) == {"import_observations"}
    assert AuditEvent.objects.filter(event="ingest.refused", client_id="import_observations").count() == 1


def test_a_second_import_changes_nothing(oslo: Any, files: list[Path]) -> None:
    _run(*files, "--municipality", demo.OSLO)
    output = _run(*files, "--municipality", demo.OSLO)
    assert "10 resources: 0 accepted, 0 updated, 7 duplicate, 3 rejected." in output
    assert Measurement.objects.count() == 6


def test_import_needs_a_registered_municipality(oslo: Any, files: list[Path]) -> None:
    with pytest.raises(CommandError, match="not a municipality"):
        _run(*files, "--municipality", demo.LOVISENBERG)
    with pytest.raises(CommandError, match="--municipality"):
        _run(*files, "--municipality", "123")
    with pytest.raises(CommandError, match="No such file"):
        _run("/nonexistent.json", "--municipality", demo.OSLO)
    assert not Measurement.objects.exists()
