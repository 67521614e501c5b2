"""The chain key is never empty: generated once under var/ outside production, 32 bytes at least in production."""

import os
import subprocess
import sys

from tests.conftest import ROOT

PRINT_KEY = "from django.conf import settings; print(settings.AUDIT_CHAIN_KEY)"


def _settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT_KEY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"AUDIT_CHAIN_KEY", "DJANGO_ENV", "VAR_DIR"}}
    return {**env, **extra}


def test_outside_production_a_key_is_generated_once_under_var(tmp_path):
    first = _settings(_env(VAR_DIR=str(tmp_path)))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "audit-chain.key"
    assert key_file.read_text().strip() == first.stdout.strip()
    assert len(first.stdout.strip()) == 64 and oct(key_file.stat().st_mode & 0o777) == "0o600"
    again = _settings(_env(VAR_DIR=str(tmp_path)))
    assert again.stdout.strip() == first.stdout.strip()


def test_production_refuses_a_short_chain_key(tmp_path):
    env = _env(
        DJANGO_ENV="production",
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://nobody@127.0.0.1:5432/none",
        ALLOWED_HOSTS="maaledata.example",
        OIDC_ISSUER="https://helseid-sts.test.nhn.no",
        SERVICE_OPERATOR_ORGNR="316666019",
        AUDIT_CHAIN_KEY="k" * 31,
        VAR_DIR=str(tmp_path),
    )
    done = _settings(env)
    assert done.returncode != 0
    assert "AUDIT_CHAIN_KEY must be at least 32 bytes" in done.stderr
    assert not (tmp_path / "audit-chain.key").exists()  # production never generates one
