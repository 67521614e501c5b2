"""What HelseID vouches for, named once: claim names and the security level a clinician needs.

The portal's login (portal.login) and the FHIR API's token checks (sharing.fhir) read the same
claims; both take the names from here.
"""

from __future__ import annotations

# Security level 4 (high): the level a clinician must have logged in with to see patient data.
REQUIRED_SECURITY_LEVEL = "4"

CLAIM_PID = "helseid://claims/identity/pid"
CLAIM_SECURITY_LEVEL = "helseid://claims/identity/security_level"
CLAIM_HPR_NUMBER = "helseid://claims/hpr/hpr_number"
CLAIM_ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLAIM_CLIENT_NAME = "helseid://claims/client/client_name"
