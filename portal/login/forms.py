from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sharing.access.members import Choice


class UnitForm(forms.Form):
    """One of the person's own memberships (organisation and unit), nothing else."""

    membership = forms.ChoiceField(
        label=_("Organisation and unit"),
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("You are not registered as acting for that organisation or unit.")},
    )

    def __init__(self, *args: Any, choices: list[Choice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].choices = [(choice.key, choice.label) for choice in choices]  # type: ignore[attr-defined]
