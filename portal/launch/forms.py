from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# Where the encounter names no reason: the treatment relationship the launch itself attests.
DEFAULT_REASON = _("Patient under treatment here")


class LaunchConfirmForm(forms.Form):
    """The reason for the lookup, pre-filled from the EHR's encounter; the person may change it."""

    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Why you need to see this patient's measurements. It is logged and the patient can read it."),
        max_length=500,
        initial=DEFAULT_REASON,
        error_messages={"required": _("Write why you need to see the measurements.")},
    )
