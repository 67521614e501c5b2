"""portal/fields.py: the day input writes what Django's input template would, without the engine."""

import datetime as dt

import pytest
from django import forms

from portal.fields import DayField, DayInput


class _Days(forms.Form):
    fra = DayField(label="Fra", required=False)
    til = DayField(label="Til")


@pytest.mark.parametrize(
    ("data", "attrs"),
    [
        ({}, None),  # unbound: no value
        ({"fra": "01.02.2026", "til": "2026-02-03"}, None),  # bound and valid, ISO as a link gives it
        ({"fra": 'x" onfocus="alert(1)', "til": "<b>&"}, None),  # invalid: aria-invalid, escaped values
        ({}, {"required": True, "disabled": False, "data-note": "a&b"}),  # a boolean attribute and an escaped one
    ],
)
def test_the_day_input_is_written_as_djangos_template_writes_it(data, attrs):
    form = _Days(data or None)
    form.is_valid()
    for name in ("fra", "til"):
        field = form[name]
        widget = field.field.widget
        assert isinstance(widget, DayInput)
        context_attrs = {**field.build_widget_attrs({"id": field.auto_id}), **(attrs or {})}
        if field.errors:
            context_attrs["aria-invalid"] = "true"
        value = field.value()
        ours = widget.render(field.html_name, value, context_attrs)
        djangos = forms.DateInput.render(widget, field.html_name, value, context_attrs)
        assert ours == djangos
    assert str(form["fra"]).startswith('<input type="text" name="fra"')


def test_a_date_value_is_written_in_the_norwegian_form():
    html = DayInput().render("fra", dt.date(2026, 2, 1))
    assert ' value="01.02.2026"' in html and html == forms.DateInput.render(DayInput(), "fra", dt.date(2026, 2, 1))
