"""The portal as a SMART app (SMART App Launch 2.x, EHR launch): the client side of the flow.

Authlib's OAuth 2.0 client builds the authorization request (PKCE S256, state, the `launch` and
`aud` parameters) and exchanges the code (client_secret_basic); this module only says which
EHRs are registered, reads their `.well-known/smart-configuration`, reads the launch context
(Patient, Encounter) and the EHR's user (the id_token's `fhirUser`, a Practitioner) from the
EHR's FHIR server with the token, and checks that this user is the person logged in with
HelseID. docs/ehr-launch.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sharing.core.actor import Actor
from sharing.identifiers import InvalidIdentifier, NationalId, parse_national_id

SCOPES = "launch openid fhirUser patient/Patient.read patient/Encounter.read user/Practitioner.read"
# The Norwegian national identity number systems a Patient.identifier may carry (fødselsnummer,
# D-number, felles hjelpenummer); the EHR's own ids are never looked up.
NATIONAL_ID_SYSTEMS = (
    "urn:oid:2.16.578.1.12.4.1.4.1",
    "urn:oid:2.16.578.1.12.4.1.4.2",
    "urn:oid:2.16.578.1.12.4.1.4.3",
)
# Who the EHR's user is: the person's fødselsnummer or D-number, and the HPR number (Helsepersonell-
# registeret), as Practitioner.identifier; compared with HelseID's pid and hpr_number.
PERSON_ID_SYSTEMS = NATIONAL_ID_SYSTEMS[:2]
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
FHIR_JSON = "application/fhir+json"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class LaunchRefused(Exception):
    """A launch the portal does not go on with; `code` names why (views.REFUSALS)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Ehr:
    iss: str  # the EHR's FHIR base URL, as its launches name it
    name: str
    client_id: str
    client_secret: str


def _normalise(iss: str) -> str:
    return iss.rstrip("/")


@lru_cache(maxsize=4)
def _parse(raw: str) -> dict[str, Ehr]:
    try:
        items = json.loads(raw)
        ehrs = [Ehr(_normalise(i["iss"]), i.get("name") or i["iss"], i["client_id"], i["client_secret"]) for i in items]
    except (ValueError, TypeError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"SMART_EHRS must be a JSON list of {{iss, name, client_id, client_secret}}: {exc}"
        ) from exc
    for ehr in ehrs:
        parts = urlsplit(ehr.iss)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise ImproperlyConfigured(f"SMART_EHRS: {ehr.iss!r} is not an http(s) URL")
    return {ehr.iss: ehr for ehr in ehrs}


def registered() -> dict[str, Ehr]:
    return _parse(settings.SMART_EHRS)


def ehr_for(iss: str) -> Ehr:
    """The registered EHR whose FHIR base is `iss`; a launch from anywhere else is refused."""
    ehr = registered().get(_normalise(iss))
    if ehr is None:
        raise LaunchRefused("unknown-ehr", iss[:200])
    return ehr


def _get_json(url: str, **kwargs: Any) -> dict[str, Any]:
    response = requests.get(url, timeout=settings.OIDC_TIMEOUT, **kwargs)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def discover(ehr: Ehr) -> dict[str, Any]:
    """The EHR's SMART configuration: its authorization and token endpoints."""
    try:
        config = _get_json(f"{ehr.iss}/.well-known/smart-configuration", headers={"Accept": "application/json"})
        for key in ("authorization_endpoint", "token_endpoint"):
            if urlsplit(str(config.get(key, ""))).scheme not in {"https", "http"}:
                raise ValueError(f"no {key}")
    except (requests.RequestException, ValueError) as exc:
        raise LaunchRefused("ehr-unavailable", f"smart-configuration: {exc}") from exc
    return config


def _client(ehr: Ehr, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=ehr.client_id,
        client_secret=ehr.client_secret,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name, not a secret
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=settings.OIDC_TIMEOUT,
    )


def authorization_url(ehr: Ehr, config: dict[str, Any], *, launch: str, redirect_uri: str) -> tuple[str, str, str]:
    """(URL to send the browser to, state, PKCE code verifier)."""
    verifier = generate_token(64)
    url, state = _client(ehr, redirect_uri).create_authorization_url(
        config["authorization_endpoint"], code_verifier=verifier, launch=launch, aud=ehr.iss
    )
    return url, state, verifier


def exchange(ehr: Ehr, config: dict[str, Any], *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
    """The token response for `code`, with its launch context (`patient`, `encounter`)."""
    try:
        token = _client(ehr, redirect_uri).fetch_token(config["token_endpoint"], code=code, code_verifier=verifier)
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise LaunchRefused("token", str(exc)[:300]) from exc
    if not token.get("access_token") or not isinstance(token.get("patient"), str) or not token["patient"]:
        raise LaunchRefused("token", "no access token or no patient in the launch context")
    return dict(token)


@dataclass(frozen=True)
class LaunchContext:
    """What the launch says, kept in the session until the person confirms."""

    iss: str
    system: str  # the EHR's name (SMART_EHRS)
    patient: str  # the national identity number, 11 digits
    patient_name: str
    patient_ref: str  # "Patient/<id>" in the EHR
    encounter: str  # "Encounter/<id>", or ""
    reason: str  # pre-filled from the encounter
    # The EHR's user (the id_token's fhirUser) and who that is: checked against the HelseID login
    # before the patient is shown. Empty (e.g. a context kept from before this was read): refused.
    user: str = ""  # "Practitioner/<id>" in the EHR
    user_pid: str = ""  # fødselsnummer or D-number
    user_hpr: str = ""  # HPR number

    @property
    def national_id(self) -> NationalId:
        return parse_national_id(self.patient)

    def audit(self) -> dict[str, str]:
        """What the audit records of the launched reads keep."""
        return {
            "system": self.system,
            "iss": self.iss,
            "patient": self.patient_ref,
            "encounter": self.encounter,
            "user": self.user,
        }

    def check_user(self, person: Actor) -> None:
        """The EHR's user must be the person logged in with HelseID: every identifier both know
        (fødselsnummer or D-number, HPR number) must be the same, and at least one must be known."""
        pairs = [
            (ehr, ours)
            for ehr, ours in ((self.user_pid, person.pid), (self.user_hpr, person.hpr_number))
            if ehr and ours
        ]
        if not pairs:
            raise LaunchRefused("user-unverified", f"{self.user or 'no fhirUser'}: no identifier to compare")
        if any(ehr != ours for ehr, ours in pairs):
            raise LaunchRefused("user-mismatch", f"{self.user} is not the person logged in with HelseID")

    def as_session(self) -> dict[str, str]:
        return asdict(self)


def _national_id(patient: dict[str, Any]) -> NationalId:
    for identifier in patient.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in NATIONAL_ID_SYSTEMS:
            try:
                return parse_national_id(str(identifier.get("value", "")))
            except InvalidIdentifier:
                continue
    raise LaunchRefused("no-patient", f"Patient/{patient.get('id')} has no valid national identity number")


def _name(patient: dict[str, Any]) -> str:
    for name in patient.get("name") or []:
        if isinstance(name, dict):
            text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
            if text:
                return str(text)[:200]
    return ""


def _reason(encounter: dict[str, Any]) -> str:
    for concept in [*(encounter.get("reasonCode") or []), *(encounter.get("type") or [])]:
        if isinstance(concept, dict):
            text = concept.get("text") or next(
                (c.get("display") for c in concept.get("coding", []) if c.get("display")), ""
            )
            if text:
                return str(text)[:400]
    return ""


def ehr_user(ehr: Ehr, config: dict[str, Any], token: dict[str, Any]) -> str:
    """The EHR's user, "Practitioner/<id>": the `fhirUser` of the token response's id_token, whose
    signature (the EHR's jwks_uri), issuer, audience and times are checked first."""
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise LaunchRefused("user-unverified", "no id_token in the token response")
    jwks_uri = str(config.get("jwks_uri") or "")
    try:
        if urlsplit(jwks_uri).scheme not in {"https", "http"}:
            raise ValueError("no jwks_uri in the smart-configuration")
        keys = jwt.PyJWKClient(jwks_uri, cache_keys=False, timeout=settings.OIDC_TIMEOUT)
        signing_key = keys.get_signing_key_from_jwt(id_token)
    except (jwt.PyJWKClientError, jwt.DecodeError, ValueError) as exc:
        raise LaunchRefused("ehr-unavailable", f"id_token keys: {exc}") from exc
    try:
        claims = jwt.decode(
            id_token,
            signing_key.key,
            algorithms=ID_TOKEN_ALGORITHMS,
            audience=ehr.client_id,
            issuer=str(config.get("issuer") or ""),
            leeway=30,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused("token", f"id_token: {exc}") from exc
    return _practitioner_ref(ehr, str(claims.get("fhirUser") or ""))


def _practitioner_ref(ehr: Ehr, fhir_user: str) -> str:
    """`fhirUser` as "Practitioner/<id>" on this EHR's FHIR server (relative, or absolute under its
    base): the token is never sent anywhere else."""
    reference = fhir_user.removeprefix(f"{ehr.iss}/")
    kind, _slash, resource_id = reference.partition("/")
    if kind != "Practitioner" or not FHIR_ID.fullmatch(resource_id):
        raise LaunchRefused("user-unverified", f"fhirUser {fhir_user[:200]!r} is no Practitioner of {ehr.iss}")
    return reference


def _identifier(resource: dict[str, Any], systems: tuple[str, ...]) -> str:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in systems and identifier.get("value"):
            return str(identifier["value"]).strip()[:20]
    return ""


def read_context(ehr: Ehr, token: dict[str, Any], *, user: str) -> LaunchContext:
    """Read the launch's Patient (its national identity number) and Encounter, and the EHR's user
    (`user`, a Practitioner: fødselsnummer and HPR number) from the EHR."""
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": FHIR_JSON}
    patient_id, encounter_id = str(token["patient"]), str(token.get("encounter") or "")
    try:
        patient = _get_json(f"{ehr.iss}/Patient/{quote(patient_id, safe='')}", headers=headers)
        encounter = (
            _get_json(f"{ehr.iss}/Encounter/{quote(encounter_id, safe='')}", headers=headers) if encounter_id else {}
        )
        practitioner = _get_json(f"{ehr.iss}/{user}", headers=headers)
    except (requests.RequestException, ValueError) as exc:
        raise LaunchRefused("ehr-unavailable", f"FHIR read: {exc}") from exc
    if patient.get("resourceType") != "Patient":
        raise LaunchRefused("no-patient", "the launch's patient is not a Patient")
    if practitioner.get("resourceType") != "Practitioner":
        raise LaunchRefused("ehr-unavailable", f"{user} is not a Practitioner")
    return LaunchContext(
        iss=ehr.iss,
        system=ehr.name,
        patient=_national_id(patient).value,
        patient_name=_name(patient),
        patient_ref=f"Patient/{patient_id}",
        encounter=f"Encounter/{encounter_id}" if encounter_id else "",
        reason=_reason(encounter),
        user=user,
        user_pid=_identifier(practitioner, PERSON_ID_SYSTEMS),
        user_hpr=_identifier(practitioner, (HPR_SYSTEM,)),
    )
