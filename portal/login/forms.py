from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .units import Unit


class UnitForm(forms.Form):
    orgnr_child = forms.ChoiceField(label=_("Unit"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["orgnr_child"].choices = [  # type: ignore[attr-defined]
            (unit.orgnr, f"{unit.name} ({unit.orgnr})" if unit.name else unit.orgnr) for unit in choices
        ]
