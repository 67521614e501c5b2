"""The auditor's forms: parse and validate, nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.fields import DayField, PageField
from sharing.audit import events
from sharing.audit.presenters import OUTCOME_LABELS
from sharing.audit.review import RULE_LABELS, QueueFilter
from sharing.audit.search import LAUNCHED, AuditFilter
from sharing.core.basis import BASIS_SHORT_LABELS, Basis
from sharing.identifiers import InvalidIdentifier, parse_national_id


def _national_id(value: str) -> str:
    try:
        return parse_national_id(value).value
    except InvalidIdentifier as exc:
        raise forms.ValidationError(str(exc.message)) from exc


# The log opens on the last 30 days (from-date filled in, to-date open); clearing the from-date
# and searching shows everything, and every choice stays in the URL.
DEFAULT_LOG_DAYS = 30


def with_default_period(query: QueryDict) -> QueryDict:
    """The query with the default period's start when the URL names no period at all."""
    if "start" in query or "end" in query:
        return query
    query = query.copy()
    query["start"] = (timezone.localdate() - dt.timedelta(days=DEFAULT_LOG_DAYS)).strftime("%d.%m.%Y")
    return query


class AuditFilterForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient"),
        help_text=_("National identity number (11 digits)."),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    user = forms.CharField(
        label=_("User"),
        help_text=_("Name, HPR number or national identity number."),
        required=False,
        max_length=200,
    )
    organisation = forms.CharField(
        label=_("Organisation"), help_text=_("Name or organisation number."), required=False, max_length=200
    )
    start = DayField(
        label=_("From"),
        required=False,
        help_text=_("The log opens on the last 30 days; empty the field for everything."),
    )
    end = DayField(label=_("To"), required=False)
    event = forms.ChoiceField(label=_("Event"), required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("All")), *[(code, label) for code, label in OUTCOME_LABELS.items()]],
    )
    basis = forms.ChoiceField(
        label=_("Access basis"),
        required=False,
        choices=[("", _("All")), *[(b.value, BASIS_SHORT_LABELS[b]) for b in Basis]],
    )
    launch = forms.ChoiceField(
        label=_("Started from"),
        required=False,
        choices=[("", _("All")), (LAUNCHED, _("The patient record (EHR launch)"))],
    )
    page = PageField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = ("", _("All except the auditors' own reads"))
        self.fields["event"].choices = [everything, *events.filter_choices()]  # type: ignore[attr-defined]

    def clean_patient(self) -> str:
        value: str = self.cleaned_data["patient"].strip()
        return _national_id(value) if value else ""

    def clean(self) -> dict[str, Any]:
        return _period_in_order(self, super().clean() or {})

    def criteria(self) -> AuditFilter:
        if not self.is_bound:
            return AuditFilter()
        data = self.cleaned_data
        return AuditFilter(
            patient=data["patient"],
            user=data["user"].strip(),
            organisation=data["organisation"].strip(),
            start=data["start"],
            end=data["end"],
            event=data["event"],
            outcome=data["outcome"],
            basis=data["basis"],
            launch=data["launch"],
        )

    def page_number(self) -> int:
        return (self.cleaned_data.get("page") or 1) if self.is_bound else 1


def _period_in_order(form: forms.Form, cleaned: dict[str, Any]) -> dict[str, Any]:
    """A filter form's `start`..`end`: an end before the start is the end field's error."""
    start, end = cleaned.get("start"), cleaned.get("end")
    if start and end and end < start:
        form.add_error("end", _("The end date is before the start date."))
    return cleaned


STATUS_CHOICES = [("", _("All")), ("open", _("To review")), ("done", _("Reviewed"))]


class QueueFilterForm(forms.Form):
    """The review queue's filters, in the query string so a filtered worklist can be linked."""

    rule = forms.ChoiceField(
        label=_("Rule"), required=False, choices=[("", _("All")), *[(str(r), t) for r, t in RULE_LABELS.items()]]
    )
    person = forms.CharField(label=_("Person"), help_text=_("Name or HPR number."), required=False, max_length=200)
    organisation = forms.CharField(
        label=_("Organisation"), help_text=_("Name or organisation number."), required=False, max_length=200
    )
    start = DayField(label=_("From"), required=False)
    end = DayField(label=_("To"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def clean(self) -> dict[str, Any]:
        return _period_in_order(self, super().clean() or {})

    def criteria(self) -> QueueFilter:
        if not self.is_bound:
            return QueueFilter()
        data = self.cleaned_data
        return QueueFilter(
            rule=data["rule"],
            person=data["person"].strip(),
            organisation=data["organisation"].strip(),
            start=data["start"],
            end=data["end"],
            status=data["status"],
        )


class ReviewForm(forms.Form):
    """Sign off one or several queue items (the checked ones) with one comment."""

    key = forms.MultipleChoiceField(
        error_messages={"required": _("Choose at least one item to mark reviewed.")},
    )
    comment = forms.CharField(
        label=_("Comment"),
        help_text=_("What you checked and what you concluded. The comment is kept in the log."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The worklist's filters, to come back to the same view afterwards (only known fields are kept).
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any key is accepted here; whether it is in the reviewer's queue is the view's 404.
        keys = self.data.getlist("key") if hasattr(self.data, "getlist") else []
        self.fields["key"].choices = [(key, key) for key in keys if isinstance(key, str) and len(key) <= 300]  # type: ignore[attr-defined]

    def clean_comment(self) -> str:
        comment: str = self.cleaned_data["comment"].strip()
        if not comment:
            raise forms.ValidationError(_("Write what you checked."))
        return comment

    def back_query(self) -> str:
        """The filters to go back to, re-read through the filter form (nothing else passes)."""
        back = QueueFilterForm(QueryDict(self.cleaned_data.get("back", "")))
        if not back.is_valid():
            return ""
        return urlencode({name: value for name, value in back.data.items() if name in back.fields and value})


class PatientReportForm(forms.Form):
    patient = forms.CharField(
        label=_("The patient's national identity number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )
    # Set by the button pressed: show the printable page, or download CSV.
    format = forms.ChoiceField(choices=[("html", "html"), ("csv", "csv")], required=False)

    def clean_patient(self) -> str:
        return _national_id(self.cleaned_data["patient"].strip())

    def clean_format(self) -> str:
        return self.cleaned_data["format"] or "html"
