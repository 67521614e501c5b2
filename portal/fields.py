"""Form fields whose values every layer below can compute with.

A date a person types goes into date arithmetic (the day after the last one) and into
PostgreSQL; 31.12.9999 plus a day overflows Python's date, and year 1 in Norwegian time is
before the first UTC instant. Both answered 500. These fields keep the input inside a range
where nothing can overflow and say so in the page instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.renderers import BaseRenderer
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)
MAX_PAGE = 10_000  # 500,000 rows of the log at 50 a page; narrow the search instead


DAY_HINT = "dd.mm.åååå"


class DayInput(forms.DateInput):
    """A day typed the Norwegian way. A native date input shows the browser's own format
    (mm/dd/yyyy in an English browser) with no hint; this one shows and takes dd.mm.åååå."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        hint = {
            "placeholder": DAY_HINT,
            "pattern": r"\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}",
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
        }
        super().__init__(attrs={**hint, **(attrs or {})}, format="%d.%m.%Y")

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        """What Django's input template writes (django/forms/widgets/input.html and attrs.html), in
        Python: the chart's page draws two on every view, and three templates each took longer
        than the rest of its form."""
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"']
        if widget["value"] is not None:
            html.append(f' value="{conditional_escape(str(widget["value"]))}"')
        for key, shown in widget["attrs"].items():
            if shown is True:
                html.append(f" {conditional_escape(key)}")
            elif shown is not False:
                html.append(f' {conditional_escape(key)}="{conditional_escape(str(shown))}"')
        return mark_safe("".join(html) + ">")  # noqa: S308 - every text above is escaped


class DayField(forms.DateField):
    """A calendar day between 01.01.1900 and 31.12.2199, typed dd.mm.åååå (ISO too, for links)."""

    widget = DayInput
    input_formats = ["%d.%m.%Y", "%Y-%m-%d"]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": _("Write the date as dd.mm.åååå.")})
        super().__init__(**kwargs)
        message = _("Give a date between 01.01.1900 and 31.12.2199.")  # EARLIEST_DAY, LATEST_DAY
        self.validators += [MinValueValidator(EARLIEST_DAY, message), MaxValueValidator(LATEST_DAY, message)]


class PageField(forms.IntegerField):
    """A page number from 1 to MAX_PAGE."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_PAGE)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": _("The page number is not valid."),
                "min_value": _("The page number is not valid."),
                "max_value": _("Too many pages: narrow the search."),
            },
        )
        super().__init__(**kwargs)
