"""Access bases: on what footing a clinician asks to see a patient's measurements.

Kept apart from `decision.py` so that agreements (which name the bases they allow) can use
them without importing the decision, which itself reads agreements.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Basis(StrEnum):
    CARE = "care"  # ordinary care relationship (UNNTAK)
    CONSENT = "consent"  # the patient's consent (SAMTYKKE)
    EMERGENCY = "emergency"  # break-glass (AKUTT)


BASIS_LABELS = {
    Basis.CARE: _("Patient under treatment here (care relationship)"),
    Basis.CONSENT: _("The patient has consented"),
    Basis.EMERGENCY: _("Emergency"),
}

# Short names for agreement pages, where the sentence-like labels above read badly.
BASIS_SHORT_LABELS = {
    Basis.CARE: _("Care relationship"),
    Basis.CONSENT: _("Consent"),
    Basis.EMERGENCY: _("Emergency access"),
}

# What a new agreement allows unless its author says otherwise: emergency access is opt-in.
DEFAULT_AGREEMENT_BASES: tuple[Basis, ...] = (Basis.CARE, Basis.CONSENT)


class ReasonCode(StrEnum):
    """A small coded list of reasons for a lookup: the clinician's quick picks, and a code in the
    audit record (data["reason_code"]) beside the reason's text, so reviewers can count and filter."""

    ADMISSION = "admission"
    OUTPATIENT = "outpatient"
    AFTER_DISCHARGE = "after-discharge"
    DETERIORATION = "acute-deterioration"


REASON_LABELS = {
    ReasonCode.ADMISSION: _("Admission"),
    ReasonCode.OUTPATIENT: _("Outpatient consultation"),
    ReasonCode.AFTER_DISCHARGE: _("Follow-up after discharge"),
    ReasonCode.DETERIORATION: _("Acute deterioration"),
}
