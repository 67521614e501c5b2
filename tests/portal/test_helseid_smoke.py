"""`manage.py helseid_smoke` against devidp: every step passes for a registered client and a test
person, and a step that HelseID would refuse is reported as the one that failed."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def smoke(idp, *args: str) -> str:
    out = io.StringIO()
    call_command("helseid_smoke", "--issuer", idp.issuer, *args, stdout=out)
    return out.getvalue()


def test_client_credentials_and_the_user_login_pass_step_by_step(helseid):
    output = smoke(
        helseid,
        "--client-id",
        "vkp-oslo",
        "--key-file",
        str(helseid.keys_dir / "vkp-oslo.pem"),
        "--redirect-uri",
        "http://testserver/oidc/callback/",
        "--devidp-person",
        "ingrid-berg",
    )
    print(output)
    steps = [line for line in output.splitlines() if line.startswith("[")]
    assert [line.split(":")[0] for line in steps] == [
        "[ ok ] discovery",
        "[ ok ] JWKS",
        "[ ok ] client credentials (vkp-oslo)",
        "[ ok ] access token passes the API's checks",
        "[ ok ] pushed authorization request (maaledata-portal)",
        "[ ok ] log in at devidp as ingrid-berg",
        "[ ok ] authorization response",
        "[ ok ] code exchange (private_key_jwt, PKCE, DPoP)",
        "[ ok ] ID token",
    ]
    assert "DPoP nonce demanded yes" in output
    assert "typ at+jwt" in output and "cnf.jkt matches the DPoP key" in output
    assert "security_level 4" in output
    assert output.rstrip().endswith("All steps passed.")


def test_a_person_below_level_4_fails_at_the_id_token(helseid):
    with pytest.raises(CommandError, match="ID token"):
        smoke(helseid, "--redirect-uri", "http://testserver/oidc/callback/", "--devidp-person", "emil-vik")


def test_a_client_with_the_wrong_key_fails_at_client_credentials(helseid):
    with pytest.raises(CommandError, match=r"client credentials \(vkp-oslo\)"):
        smoke(helseid, "--client-id", "vkp-oslo", "--key-file", str(helseid.keys_dir / "vkp-baerum.pem"))


def test_it_needs_something_to_test(helseid):
    with pytest.raises(CommandError, match="--client-id"):
        smoke(helseid)


def test_without_devidp_person_it_prints_the_url_and_takes_the_address_pasted_back(helseid, monkeypatch):
    """The interactive step, as with HelseID's TestIDP: a person (here: requests) logs in at the
    printed URL and pastes the address the browser was sent back to."""
    from portal.login import smoke as smoke_module

    out = io.StringIO()

    def paste(prompt: str = "") -> str:
        url = next(line.strip() for line in out.getvalue().splitlines() if "/connect/authorize?" in line)
        login = smoke_module.Login(state="", nonce="", verifier="", authorize_url=url)
        return smoke_module.log_in_at_devidp(
            login, person="ingrid-berg", redirect_uri="http://testserver/oidc/callback/"
        )

    monkeypatch.setattr("builtins.input", paste)
    call_command(
        "helseid_smoke", "--issuer", helseid.issuer, "--redirect-uri", "http://testserver/oidc/callback/", stdout=out
    )
    assert "Open this URL in a browser" in out.getvalue()
    assert "[ ok ] ID token: name Ingrid Berg" in out.getvalue()
