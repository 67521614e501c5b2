"""Start-up checks: in production the HelseID client must be able to authenticate."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from . import helseid


@register()
def helseid_client(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.PRODUCTION:
        return []
    errors: list[CheckMessage] = []
    try:
        helseid.client_key()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), hint="See docs/helseid.md.", id="login.E001"))
    if not settings.OIDC_ISSUER.startswith("https://"):
        errors.append(Error("OIDC_ISSUER must be an https URL in production.", id="login.E002"))
    return errors
