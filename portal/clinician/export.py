"""The clinician's CSV file: for a spreadsheet or the patient's record (issue 17, item 7).

Header rows say whose measurements these are and which period they cover; then one row per
measurement, newest first like the table, with systolic and diastolic in their own columns and
numbers in the reader's locale (decimal comma in Norwegian). The file name is Norwegian and
names the patient and the period. Cells are guarded by portal.csvfile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.csvfile import csv_response
from sharing.core.kinds import Kind
from sharing.identifiers import NationalId
from sharing.measurements.overview import Reading

from .present import STATUS_LABELS, flags, kind_name, local_time, number, unit_label

PAIR = ("systolic", "diastolic")


def _day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _period(readings: Sequence[Reading], start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.date, dt.date]:
    """The first and last day the file covers: the period asked for, else the readings' own span."""
    now = timezone.now()
    first = start or (min(r.effective for r in readings) if readings else now)
    last = (end or now) - dt.timedelta(microseconds=1)  # the window's end is exclusive
    return _day(first), _day(max(first, last))


def _value_cells(reading: Reading, single: bool, pair: bool) -> list[str]:
    cells = []
    if single:
        value = reading.values.get("value")
        cells.append(number(value) if value is not None else reading.text)
    if pair:
        cells += [number(reading.values[p]) if p in reading.values else "" for p in PAIR]
    return cells


def file_name(name: str, kind: str | None, first: dt.date, last: dt.date) -> str:
    what = kind_name(kind) if kind else pgettext("file name", "all measurements")
    words = [
        pgettext("file name", "measurements"),
        name or pgettext("file name", "patient"),
        what,
        f"{first:%Y-%m-%d}",
        pgettext("file name", "to"),
        f"{last:%Y-%m-%d}",
    ]
    return slugify(" ".join(str(w) for w in words), allow_unicode=True) + ".csv"


def export_response(
    readings: Sequence[Reading],
    *,
    patient: NationalId,
    name: str,
    kind: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> HttpResponse:
    newest = sorted(readings, key=lambda r: r.effective, reverse=True)
    name = next((r.patient_display for r in newest if r.patient_display), name)
    first, last = _period(newest, start, end)
    single = not newest or any(r.kind != Kind.BLOOD_PRESSURE for r in newest)
    pair = any(r.kind == Kind.BLOOD_PRESSURE for r in newest)
    columns = [_("Time"), _("Measurement")]
    columns += [_("Value")] if single else []
    columns += [_("Systolic"), _("Diastolic")] if pair else []
    columns += [_("Unit"), _("Status"), _("Flags"), _("Municipality (org. no.)")]
    rows: list[list[str]] = [
        [_("Patient"), name or _("Name not known")],
        [_("National identity number"), f"{patient.value[:6]} {patient.value[6:]}"],  # grouped: kept as text
        [_("Measurements"), kind_name(kind) if kind else _("Everything you may see")],
        [_("Period"), f"{first:%d.%m.%Y}–{last:%d.%m.%Y}"],
        [_("Exported"), local_time(timezone.now())],
        [],
        columns,
    ]
    for r in newest:
        rows.append(
            [
                local_time(r.effective),
                kind_name(r.kind),
                *_value_cells(r, single, pair),
                unit_label(r.unit),
                str(STATUS_LABELS.get(r.status, r.status)),
                ", ".join(f.label for f in flags(r.flags)),
                r.source_orgnr,
            ]
        )
    return csv_response(filename=file_name(name, kind, first, last), rows=rows)
