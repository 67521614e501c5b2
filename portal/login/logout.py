"""OIDC Back-Channel Logout 1.0: HelseID tells the portal that a login session (`sid`) has ended.

When a person logs out at HelseID, or in another system that shares their HelseID session (the
hospital record, say), HelseID POSTs a signed logout token to our `backchannel_logout_uri`. The
portal checks it (§2.6) and ends every portal session that login opened: the portal's session
must not outlive the single sign-out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from sharing import oidc

from .models import LoginSession

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token is sent right after the logout; an older one is stale or replayed.
MAX_AGE_SECONDS = 120
LEEWAY_SECONDS = 5


class InvalidLogoutToken(Exception):
    pass


def verify_logout_token(token: str) -> dict[str, Any]:
    """The claims of a valid logout token (§2.6), else InvalidLogoutToken."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") not in (None, "logout+jwt", "JWT"):
            raise InvalidLogoutToken(f"typ {header.get('typ')!r} is not logout+jwt")
        key = oidc.jwks_client().get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256", "PS256", "ES256"],
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=oidc.discovery()["issuer"],
            options={"require": ["iat", "iss", "aud", "jti"]},
            leeway=LEEWAY_SECONDS,
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidLogoutToken(str(exc)) from exc
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
        raise InvalidLogoutToken("the token names no back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token must not carry a nonce")
    if not claims.get("sid"):
        # The portal's registration asks for sid (backchannel_logout_session_required).
        raise InvalidLogoutToken("the token names no sid")
    if claims["iat"] < timezone.now().timestamp() - MAX_AGE_SECONDS:
        raise InvalidLogoutToken("the token is too old")
    return claims


def remember(*, session: SessionBase, sid: str, sub: str) -> None:
    """Note that this portal session belongs to HelseID's login session `sid`."""
    if not sid:
        return
    if session.session_key is None:
        session.save()
    LoginSession.objects.update_or_create(session_key=session.session_key, defaults={"sid": sid, "sub": sub})
    cutoff = timezone.now() - dt.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
    LoginSession.objects.filter(created_at__lt=cutoff).delete()


def forget(*, session_key: str | None) -> None:
    """This portal session ends here (RP-initiated logout): HelseID's logout need not end it."""
    if session_key:
        LoginSession.objects.filter(session_key=session_key).delete()
