"""The EHR's user (the id_token's fhirUser) and the check that it is the person logged in with
HelseID: the id_token is verified before its fhirUser is believed, and only a Practitioner on
the EHR's own FHIR server is read."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.launch import smart
from sharing.core.actor import Actor

EHR = smart.Ehr(iss="https://ehr.example/fhir", name="Testjournal", client_id="maaledata", client_secret="s")
CONFIG = {"issuer": "https://ehr.example", "jwks_uri": "https://ehr.example/jwks"}
INGRID = Actor(sub="i", pid="12837826592", hpr_number="565501872", name="Ingrid Berg")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Keys:
    """The EHR's JWKS, as PyJWKClient would fetch it from CONFIG["jwks_uri"]."""

    def __init__(self, uri: str, **_kwargs: Any) -> None:
        assert uri == CONFIG["jwks_uri"]

    def get_signing_key_from_jwt(self, _token: str) -> Any:
        return jwt.PyJWK.from_dict(
            jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True) | {"alg": "RS256"}
        )


@pytest.fixture(autouse=True)
def _jwks(monkeypatch):
    monkeypatch.setattr(smart.jwt, "PyJWKClient", _Keys)


def _id_token(key: Any = KEY, **claims: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": CONFIG["issuer"],
        "aud": EHR.client_id,
        "sub": "ingrid-berg",
        "iat": now,
        "exp": now + 300,
        "fhirUser": f"{EHR.iss}/Practitioner/ingrid-berg",
    } | claims
    return {"access_token": "a", "patient": "p1", "id_token": jwt.encode(body, key, algorithm="RS256")}


def test_the_verified_id_tokens_fhir_user_is_the_ehrs_practitioner():
    assert smart.ehr_user(EHR, CONFIG, _id_token()) == "Practitioner/ingrid-berg"
    assert smart.ehr_user(EHR, CONFIG, _id_token(fhirUser="Practitioner/ingrid-berg")) == "Practitioner/ingrid-berg"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-app"},
        {"iss": "https://other.example"},
        {"exp": int(time.time()) - 600},
    ],
)
def test_an_id_token_for_someone_else_or_expired_is_refused(claims):
    with pytest.raises(smart.LaunchRefused) as refused:
        smart.ehr_user(EHR, CONFIG, _id_token(**claims))
    assert refused.value.code == "token"


def test_an_id_token_signed_by_another_key_is_refused():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(smart.LaunchRefused) as refused:
        smart.ehr_user(EHR, CONFIG, _id_token(key=other))
    assert refused.value.code == "token"


@pytest.mark.parametrize(
    "fhir_user",
    [
        "",
        "Patient/p1",
        "https://elsewhere.example/fhir/Practitioner/ingrid-berg",  # the token is sent nowhere else
        "Practitioner/../Patient/p1",
        "https://ehr.example/fhir/PractitionerRole/r1",
    ],
)
def test_a_fhir_user_that_is_no_practitioner_of_this_ehr_is_refused(fhir_user):
    with pytest.raises(smart.LaunchRefused) as refused:
        smart.ehr_user(EHR, CONFIG, _id_token(fhirUser=fhir_user))
    assert refused.value.code == "user-unverified"


def test_a_token_response_without_an_id_token_is_refused():
    with pytest.raises(smart.LaunchRefused) as refused:
        smart.ehr_user(EHR, CONFIG, {"access_token": "a", "patient": "p1"})
    assert refused.value.code == "user-unverified"


def test_without_a_jwks_uri_the_ehr_cannot_be_believed():
    with pytest.raises(smart.LaunchRefused) as refused:
        smart.ehr_user(EHR, {"issuer": CONFIG["issuer"], "jwks_uri": "file:///etc/passwd"}, _id_token())
    assert refused.value.code == "ehr-unavailable"


def _context(pid: str = "", hpr: str = "") -> smart.LaunchContext:
    return smart.LaunchContext(
        iss=EHR.iss,
        system=EHR.name,
        patient="30875928763",
        patient_name="Kari Nordmann",
        patient_ref="Patient/p1",
        encounter="",
        reason="",
        user="Practitioner/x",
        user_pid=pid,
        user_hpr=hpr,
    )


@pytest.mark.parametrize(("pid", "hpr"), [("12837826592", "565501872"), ("12837826592", ""), ("", "565501872")])
def test_the_same_person_by_every_number_both_know(pid, hpr):
    _context(pid, hpr).check_user(INGRID)  # no refusal


@pytest.mark.parametrize(
    ("pid", "hpr"),
    [
        ("14897310016", ""),  # another fødselsnummer
        ("", "565507062"),  # another HPR number
        ("12837826592", "565507062"),  # one number the same, the other not: not the same person
        ("14897310016", "565501872"),
    ],
)
def test_another_person_is_refused(pid, hpr):
    with pytest.raises(smart.LaunchRefused) as refused:
        _context(pid, hpr).check_user(INGRID)
    assert refused.value.code == "user-mismatch"


@pytest.mark.parametrize(
    ("context", "person"),
    [
        (_context(), INGRID),  # the Practitioner names no number
        (_context(hpr="565501872"), Actor(sub="n", pid="09899012469", name="Nina Lund")),  # no HPR number in HelseID
    ],
)
def test_nothing_to_compare_is_refused(context, person):
    with pytest.raises(smart.LaunchRefused) as refused:
        context.check_user(person)
    assert refused.value.code == "user-unverified"
