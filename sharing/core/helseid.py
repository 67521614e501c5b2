"""What HelseID vouches for, named once: claim names and the security level a clinician needs.

The portal's login (portal.login) and the FHIR API's token checks (sharing.fhir) read the same
claims; both take the names from here.
"""

from __future__ import annotations

import json
from typing import Any

# Security level 4 (high): the level a clinician must have logged in with to see patient data.
REQUIRED_SECURITY_LEVEL = "4"

CLAIM_PID = "helseid://claims/identity/pid"
CLAIM_SECURITY_LEVEL = "helseid://claims/identity/security_level"
CLAIM_HPR_NUMBER = "helseid://claims/hpr/hpr_number"
CLAIM_ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLAIM_CLIENT_NAME = "helseid://claims/client/client_name"
# Professions and authorisation validity: from userinfo (the portal), or in an API's access token
# when the API's registration lists it (the FHIR read API).
CLAIM_HPR_DETAILS = "helseid://claims/hpr/hpr_details"


def hpr_details(value: Any) -> dict[str, Any]:
    """HelseID's hpr_details (an object, or JSON text of one); {} when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
