"""Old Bulk Data exports are removed after EXPORT_RETENTION_HOURS: by the command, or when polled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from django.core.management import call_command
from django.utils import timezone

from sharing.audit.models import AuditEvent
from sharing.fhir.models import ExportFile, ExportJob

from .ingest_helpers import api, heart_rate
from .test_export import exporter, kick_off

__all__ = ["api"]


def started(client: Any) -> tuple[str, str]:
    """Kick off an export; its status URL and its one file's URL."""
    answer = kick_off(client)
    assert answer.status_code == 202, answer.text
    status_url = answer.headers["Content-Location"]
    manifest = requests.get(status_url, headers={"Authorization": f"Bearer {client.token}"}, timeout=30).json()
    return status_url, manifest["output"][0]["url"]


def age(hours: float) -> None:
    """Make every export job finish `hours` ago."""
    then = timezone.now() - dt.timedelta(hours=hours)
    ExportJob.objects.update(created_at=then, completed_at=then)


def get(client: Any, url: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {client.token}"}, timeout=30)


def test_the_command_removes_old_exports_and_the_status_url_says_gone(
    live_server: Any, helseid: Any, oslo: Any, settings: Any, capsys: Any
) -> None:
    settings.EXPORT_RETENTION_HOURS = 24
    client = exporter(live_server, helseid, "vkp-oslo")
    assert client.post(heart_rate(61)).status_code == 201
    old_status, old_file = started(client)
    age(25)
    fresh_status, fresh_file = started(client)

    call_command("purge_exports")  # a dry run: counts, removes nothing
    assert "Would remove 1 export job(s) with 1 file(s)" in capsys.readouterr().out
    assert ExportFile.objects.count() == 2
    call_command("purge_exports", "--apply")
    assert "Removed 1 export job(s) with 1 file(s)" in capsys.readouterr().out

    gone = get(client, old_status)
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"
    assert gone.json()["issue"][0]["details"]["coding"][0]["code"] == "export-removed"
    assert "24 timer" in gone.json()["issue"][0]["diagnostics"]  # Norwegian unless Accept-Language says en
    assert get(client, old_file).status_code == 404
    assert get(client, fresh_status).status_code == 200
    assert get(client, fresh_file).status_code == 200

    records = AuditEvent.objects.filter(event="export.purge").order_by("id")
    assert [(r.data["dry_run"], r.data["job_count"], r.data["files"]) for r in records] == [(True, 1, 1), (False, 1, 1)]
    assert records.last().municipalities == "311111019"
    call_command("purge_exports", "--apply")  # safe to re-run: nothing more to remove, nothing logged
    assert AuditEvent.objects.filter(event="export.purge").count() == 2


def test_a_poll_after_the_retention_removes_the_job(live_server: Any, helseid: Any, oslo: Any, settings: Any) -> None:
    settings.EXPORT_RETENTION_HOURS = 2
    client = exporter(live_server, helseid, "vkp-oslo")
    assert client.post(heart_rate(70)).status_code == 201
    status_url, file_url = started(client)
    age(3)
    assert get(client, file_url).status_code == 410
    assert not ExportFile.objects.exists()
    assert get(client, status_url).status_code == 410
    record = AuditEvent.objects.get(event="export.purge")
    assert (record.client_id, record.data["job_count"]) == ("vkp-oslo", 1)


def test_another_clients_removed_job_is_not_found(live_server: Any, helseid: Any, oslo: Any) -> None:
    oslo_client = exporter(live_server, helseid, "vkp-oslo")
    assert oslo_client.post(heart_rate(65)).status_code == 201
    status_url, _file = started(oslo_client)
    age(1000)
    call_command("purge_exports", "--apply")
    other = exporter(live_server, helseid, "vkp-baerum")
    assert get(other, status_url).status_code == 404
