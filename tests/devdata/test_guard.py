"""Demo and generated data never reach production: the app is not installed there, and its
commands refuse should it be installed anyway."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_ENV": "production",
    "SECRET_KEY": "test-only",
    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    "OIDC_ISSUER": "https://helseid.example",
    "SERVICE_OPERATOR_ORGNR": "316666019",
    "AUDIT_CHAIN_KEY": "test-only-key-of-at-least-32-bytes",
    "ALLOWED_HOSTS": "portal.example",
}


@pytest.mark.django_db
@pytest.mark.parametrize(("command", "args"), [("seed_demo", ["--days", "1"]), ("generate_data", ["--patients", "1"])])
def test_the_commands_refuse_in_production_and_write_nothing(settings, command, args):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match=f"{command} writes demo or generated data and never runs in production"):
        call_command(command, *args)
    assert not Organisation.objects.exists() and not AuditEvent.objects.exists()


def test_production_does_not_install_the_app():
    script = "import django; django.setup(); from django.conf import settings; print(settings.INSTALLED_APPS)"
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "sharing.measurements" in result.stdout and "devdata" not in result.stdout
