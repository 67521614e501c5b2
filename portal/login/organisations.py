"""Which organisation (and unit) a person acts for, as HelseID asserts it.

HelseID does not know where a person works; the portal is a multi-tenant client. After the login
the person chooses among their own memberships (sharing.access.members), and the portal asks
HelseID for that organisation with a refresh_token grant whose client assertion carries
`authorization_details` (HelseID's pattern for switching without a new login). HelseID checks
the organisation's delegation to the portal's supplier and answers with an ID token whose
client claims (orgnr_parent, orgnr_child) name it; only then does the person act for it.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from sharing import oidc
from sharing.access import members
from sharing.audit.actions import record_event

from . import helseid
from .acting import actor_for
from .backend import CLOCK_LEEWAY_SECONDS, REFRESH_TOKEN_SESSION_KEY
from .models import Profile
from .units import CHOICE_COUNT_SESSION_KEY, SESSION_KEY

logger = logging.getLogger(__name__)


class SwitchRefused(Exception):
    """HelseID (or the portal's own check of its answer) refused the organisation."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def choices(request: HttpRequest) -> list[members.Choice]:
    profile: Profile = request.user.helseid  # type: ignore[union-attr]
    return members.choices_for(pid=profile.pid, hpr_number=profile.hpr_number, on=timezone.localdate())


def _verify_id_token(token: str, sub: str) -> dict[str, Any]:
    key = oidc.jwks_client().get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "PS256", "ES256"],
        audience=settings.OIDC_RP_CLIENT_ID,
        issuer=oidc.discovery()["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        leeway=CLOCK_LEEWAY_SECONDS,
    )
    if claims["sub"] != sub:
        raise jwt.InvalidTokenError("the refreshed ID token names another person")
    return claims


def act_for(request: HttpRequest, choice: members.Choice) -> None:
    """Ask HelseID for `choice` (one of the person's own memberships, checked by the caller) and
    act for what HelseID asserts. Audited either way; raises SwitchRefused when refused."""
    profile: Profile = request.user.helseid  # type: ignore[union-attr]
    before = actor_for(request)
    refresh_token = request.session.get(REFRESH_TOKEN_SESSION_KEY, "")
    asked = {"orgnr_parent": choice.orgnr_parent, "orgnr_child": choice.orgnr_child}
    try:
        if not refresh_token:
            raise SwitchRefused("no-refresh-token")
        response = helseid.token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            assertion_claims={
                "authorization_details": helseid.authorization_details(choice.orgnr_parent, choice.orgnr_child)
            },
        )
        if response.status_code != 200:
            try:
                error = response.json()
            except ValueError:
                error = {}
            raise SwitchRefused(str(error.get("error", response.status_code)), str(error.get("error_description", "")))
        tokens = response.json()
        claims = _verify_id_token(str(tokens.get("id_token", "")), profile.sub)
        given = {
            "orgnr_parent": str(claims.get(helseid.CLAIM_ORGNR_PARENT, "")),
            "orgnr_child": str(claims.get(helseid.CLAIM_ORGNR_CHILD, "")),
        }
        if given != asked:
            raise SwitchRefused("mismatch", f"HelseID asserted {given}")
    except SwitchRefused as exc:
        record_event(
            event="user.unit.refused",
            outcome="refused",
            by=before,
            data={"asked": asked, "reason": exc.reason, "detail": exc.detail[:300]},
        )
        raise
    except (requests.RequestException, jwt.PyJWTError, ValueError, KeyError) as exc:
        logger.warning("Organisation switch failed: %s", exc)
        record_event(event="user.unit.refused", outcome="refused", by=before, data={"asked": asked, "reason": "failed"})
        raise SwitchRefused("failed", str(exc)) from exc
    Profile.objects.filter(pk=profile.pk).update(**given)
    profile.orgnr_parent, profile.orgnr_child = given["orgnr_parent"], given["orgnr_child"]
    request.session[SESSION_KEY] = given["orgnr_child"]
    request.session[REFRESH_TOKEN_SESSION_KEY] = tokens.get("refresh_token") or refresh_token
    request.session.pop("acting.org_names", None)
    request._acting_grants = None  # type: ignore[attr-defined]
    record_event(
        event="user.unit.chosen",
        outcome="success",
        by=actor_for(request),
        data={"from": f"{before.orgnr_parent}:{before.orgnr_child}", "to": choice.key},
    )


def refuse_unknown(request: HttpRequest, key: str) -> None:
    """A choice that is not among the person's memberships: refused and logged, nothing changes."""
    record_event(
        event="user.unit.refused",
        outcome="refused",
        by=actor_for(request),
        data={"asked": key[:40], "reason": "not-a-member"},
    )


def remember_choice_count(request: HttpRequest, count: int) -> None:
    request.session[CHOICE_COUNT_SESSION_KEY] = count
