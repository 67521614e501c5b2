from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.fields import DayField
from sharing.access.decision import BASIS_LABELS, Basis
from sharing.core.basis import REASON_LABELS, ReasonCode
from sharing.identifiers import IdKind, InvalidIdentifier, NationalId, parse_national_id


class PatientSearchForm(forms.Form):
    national_id = forms.CharField(
        label=_("National identity number"),
        help_text=_("Fødselsnummer, D-number or felles hjelpenummer (11 digits)."),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "autofocus": True,
                "spellcheck": "false",
                "data-national-id": "",
                "data-msg-digits": _("Only digits, please (spaces and dots are fine)."),
                "data-msg-count": _("%(n)s of 11 digits"),
                "data-msg-long": _("A national identity number has 11 digits."),
                "data-msg-checksum": _("The number is not valid. Check it for typing errors."),
                "data-msg-hnr": _("H-numbers are internal to one organisation and cannot be looked up here."),
                "data-msg-ok": _("Valid number"),
            }
        ),
    )
    basis = forms.ChoiceField(
        label=_("Access basis"),
        choices=[(b.value, BASIS_LABELS[b]) for b in Basis],
        initial=Basis.CARE.value,
        widget=forms.Select(attrs={"data-basis": ""}),
    )
    # Quick picks from a coded list (the code goes into the audit record); choosing one fills the
    # reason below (script), or stands as the reason when that is left empty (no script).
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        choices=[(code.value, REASON_LABELS[code]) for code in ReasonCode],
        required=False,
        widget=forms.RadioSelect(attrs={"data-reason-code": ""}),
    )
    reason = forms.CharField(
        label=_("Reason in your own words"),
        help_text=_(
            "Choose a reason above, or write one (you may add to the one you chose). "
            "It is logged and the patient can read it."
        ),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"data-reason": ""}),
    )

    def __init__(self, *args: Any, bases: tuple[Basis, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the bases the person's agreements allow (sharing.access.decision.bases_offered).
        if bases is not None:
            self.fields["basis"].choices = [(b.value, BASIS_LABELS[b]) for b in bases]  # type: ignore[attr-defined]
            if Basis.CARE not in bases:
                self.fields["basis"].initial = bases[0].value
        attrs = self.fields["national_id"].widget.attrs
        attrs["aria-describedby"] = "id_national_id_help id_national_id_live"
        if self.is_bound and "national_id" in self.errors:
            attrs["aria-invalid"] = "true"

    def clean_national_id(self) -> NationalId:
        try:
            nid = parse_national_id(self.cleaned_data["national_id"])
        except InvalidIdentifier as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
        if nid.kind == IdKind.HNR:
            raise forms.ValidationError(_("H-numbers are internal to one organisation and cannot be looked up here."))
        return nid

    def clean_basis(self) -> Basis:
        return Basis(self.cleaned_data["basis"])

    def clean_reason_code(self) -> ReasonCode | None:
        return ReasonCode(self.cleaned_data["reason_code"]) if self.cleaned_data.get("reason_code") else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, text = data.get("reason_code"), (data.get("reason") or "").strip()
        if not text and code is not None:
            text = str(REASON_LABELS[code])
        if not text and "reason" not in self.errors and "reason_code" not in self.errors:
            self.add_error("reason", _("Choose a reason or write one."))
        data["reason"] = text
        return data


PERIODS: dict[str, tuple[Any, int | None]] = {
    "7d": (_("7 days"), 7),
    "30d": (_("30 days"), 30),
    "90d": (_("90 days"), 90),
    "1y": (_("1 year"), 365),
    "all": (_("Everything you may see"), None),
}
DEFAULT_PERIOD = "30d"


class PeriodForm(forms.Form):
    """The chart's period: a preset, or custom dates (both inclusive, Norwegian days)."""

    periode = forms.ChoiceField(
        label=_("Period"),
        choices=[*((key, label) for key, (label, _days) in PERIODS.items()), ("custom", _("Custom"))],
        required=False,
    )
    fra = DayField(label=_("From"), required=False)
    til = DayField(label=_("To"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("fra"), data.get("til")
        if data.get("periode") == "custom" or (not data.get("periode") and (start or end)):
            data["periode"] = "custom"
            if any(not data.get(name) and name not in self.errors for name in ("fra", "til")):
                raise forms.ValidationError(_("Give both a start and an end date."))
            if start and end and start > end:
                raise forms.ValidationError(_("The start date must be on or before the end date."))
        data["periode"] = data.get("periode") or DEFAULT_PERIOD
        return data

    def window(self, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
        """[start, end) in time; start None means everything in scope."""
        key = self.cleaned_data["periode"] if self.is_valid() else DEFAULT_PERIOD
        if key == "custom":
            start, end = self.cleaned_data["fra"], self.cleaned_data["til"] + dt.timedelta(days=1)
            return _midnight(start), min(_midnight(end), now)
        days = PERIODS[key][1]
        return (None if days is None else now - dt.timedelta(days=days)), now

    @property
    def selected(self) -> str:
        return self.cleaned_data["periode"] if self.is_valid() else DEFAULT_PERIOD

    def query(self) -> dict[str, str]:
        """The period as query parameters, for links and the export form."""
        if self.selected == "custom":
            start, end = self.cleaned_data["fra"], self.cleaned_data["til"]
            return {"periode": "custom", "fra": start.isoformat(), "til": end.isoformat()}
        return {"periode": self.selected}


def period_errors(period: PeriodForm) -> list[str]:
    """Every error of the period form, field errors named by their field."""
    found = [str(error) for error in period.non_field_errors()]
    for name in ("periode", "fra", "til"):
        found += [f"{period.fields[name].label or name}: {error}" for error in period.errors.get(name, [])]
    return found


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))
