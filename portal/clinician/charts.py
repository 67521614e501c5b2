"""The chart's data, its text alternative, the exact table and the CSV file for one kind."""

from __future__ import annotations

import datetime as dt
import functools
from html import escape
from typing import Any

import orjson
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sharing.core.kinds import Kind
from sharing.measurements.overview import Reading, parts_of
from sharing.measurements.series import Series

from .present import (
    DECIMALS,
    PART_NAMES,
    RISK_LABELS,
    STATE_LABELS,
    STATUS_LABELS,
    decimal_separator,
    exact_text,
    flags,
    kind_name,
    light,
    local_time,
    naive_local,
    number,
    oslo,
    unit_label,
)

_ROW = (
    '<tr{outside}><td data-time="{stamp}"><time datetime="{iso}">{time}</time></td>'
    '<td class="num" data-value="{sort}">{value}{unit}{marker}</td>'
    '<td data-status="{status_key}">{status}</td><td>{light}</td><td>{notes}</td></tr>'
)
_LIGHT = (
    '<span class="light light--{colour}" title="{code}">'
    '<span class="light__dot" aria-hidden="true"></span>{label}</span>'
)
_MARKER = (
    '<span class="outside" title="{text}"><span aria-hidden="true">{arrow}</span>'
    '<span class="visually-hidden">{text}</span></span>'
)
_CHIP = '<span class="chip chip--{severity}" title="{code}">{label}</span>'


def table_html(series: Series) -> SafeString:
    """The table's page of rows, newest first, values exactly as stored: one pass, every text escaped.

    Built here rather than in the template: the template language spends some 25 lookups per
    row where this spends one string format.
    """
    markers = {
        state: " " + _MARKER.format(text=escape(str(STATE_LABELS[state])), arrow=arrow)
        for state, arrow in (("high", "▲"), ("low", "▼"))
    }
    statuses = {key: escape(str(label)) for key, label in STATUS_LABELS.items()}
    sep = decimal_separator()
    lines = []
    for r in series.rows:
        state = next((s for s in (r.state(p) for p in r.values) if s), None)
        status = statuses.get(r.status) or escape(r.status)
        unit = unit_label(r.unit)
        lines.append(
            _ROW.format(
                outside=' class="row--outside"' if state else "",
                stamp=int(r.effective.timestamp()),
                iso=r.effective.isoformat(),
                time=local_time(r.effective),
                sort=r.values.get(parts_of(r.kind)[0], 0.0),
                value=escape(exact_text(r, sep)),
                unit=f' <span class="unit">{escape(unit)}</span>' if unit else "",
                marker=markers[state] if state else "",
                status_key=escape(r.status),
                status=f'<span class="status status--amended">{status}</span>' if r.amended else status,
                light=_light_html(r),
                notes=_notes_html(r),
            )
        )
    return mark_safe("\n".join(lines))  # noqa: S308 - every text above is escaped


def _light_html(r: Reading) -> str:
    shown = light(r.interpretation)
    if shown is None:
        return ""
    return _LIGHT.format(colour=shown.colour or "unknown", code=escape(shown.code), label=escape(shown.label))


def _notes_html(r: Reading) -> str:
    """Clinical flags, the patient's note and the device, every text escaped."""
    notes = [_CHIP.format(severity=f.severity, code=escape(f.code), label=escape(f.label)) for f in flags(r.flags)]
    if r.note:
        notes.append(f'<q class="note">{escape(r.note)}</q>')
    if r.device:
        notes.append(f'<span class="device">{escape(r.device)}</span>')
    return " ".join(notes)


def _raw_points(series: Series, part: str) -> list[dict[str, Any]]:
    unit = unit_label(series.points[0].unit) if series.points else ""
    sep = decimal_separator()
    points = []
    for r in series.points:
        if part not in r.values:
            continue
        point: dict[str, Any] = {
            "x": naive_local(r.effective),
            "y": r.values[part],
            "t": local_time(r.effective),
            "v": f"{number(r.values[part], sep=sep)}\u00a0{unit}".strip(),
        }
        if r.amended:
            point["a"] = 1
        if r.state(part):
            point["o"] = 1
        if r.interpretation and (shown := light(r.interpretation)) is not None:
            point["i"] = shown.label
        if r.note:
            point["n"] = r.note
        if r.device:
            point["d"] = r.device
        points.append(point)
    return points


@functools.lru_cache(maxsize=4096)
def _placed(start: dt.datetime, week: bool, _zone: dt.tzinfo) -> tuple[str, str]:
    """Where a day's (or week's) point sits on the time axis (its middle, in Oslo wall-clock time)
    and the date that names it: the same few hundred buckets on every view of a chart. `_zone`,
    the default time zone the answer is in, is part of the key."""
    return naive_local(start + dt.timedelta(days=3.5 if week else 0.5)), oslo(start).strftime("%d.%m.%Y")


def _bucket_points(series: Series, part: str) -> list[dict[str, Any]]:
    """A day's (or week's) lowest, mean and highest value. A bucket with readings outside their
    range says how many (``ob`` below, ``oa`` above): the chart marks its lowest or highest value,
    so averaging never hides one."""
    decimals = DECIMALS.get(series.kind, 0) + 1
    unit = unit_label(series.latest.unit) if series.latest else ""
    week = series.resolution == "week"
    label = _("Week of %(date)s") if week else _("Day %(date)s")
    text = _("mean %(mean)s %(unit)s (lowest %(low)s, highest %(high)s), %(count)s measurements")
    outside = _("%(count)s outside the normal range")
    sep = decimal_separator()
    zone = timezone.get_default_timezone()
    points = []
    # The lowest and highest are readings as stored, a few values over and over (a pulse of 72):
    # each is written once per view.
    exact: dict[float, str] = {}
    for b in series.buckets:
        mean = b.mean.get(part)
        if mean is None:
            continue
        x, date = _placed(b.start, week, zone)
        low, high = b.low[part], b.high[part]
        if (low_text := exact.get(low)) is None:
            low_text = exact[low] = number(low, sep=sep)
        if (high_text := exact.get(high)) is None:
            high_text = exact[high] = number(high, sep=sep)
        values = {
            "mean": number(mean, decimals, sep),
            "low": low_text,
            "high": high_text,
            "unit": unit,
            "count": str(b.readings),
        }
        point: dict[str, Any] = {
            "x": x,
            "y": round(mean, 3),
            "lo": low,
            "hi": high,
            "t": label % {"date": date},
            "v": text % values,
        }
        below, above = b.below.get(part, 0), b.above.get(part, 0)
        if below:
            point["ob"] = below
        if above:
            point["oa"] = above
        if below or above:
            point["o"] = 1
            point["v"] += "; " + outside % {"count": below + above}
        if b.amended:
            point["a"] = 1
        points.append(point)
    return points


def chart_summary(series: Series) -> str:
    """The chart's text alternative."""
    latest, first, last = series.latest, series.first, series.last
    if latest is None or first is None or last is None:
        return _("No measurements in this period.")
    text = _("%(count)s measurements from %(first)s to %(last)s. Latest value: %(value)s.") % {
        "count": series.count,
        "first": local_time(first),
        "last": local_time(last),
        "value": f"{exact_text(latest)}\u00a0{unit_label(latest.unit)}".strip(),
    }
    for part in parts_of(series.kind):
        found = series.extremes(part)
        if found is None:
            continue
        extremes = {"low": number(found[0]), "high": number(found[1])}
        if part in PART_NAMES:
            extremes["what"] = str(PART_NAMES[part])
            text += " " + _("%(what)s: lowest %(low)s, highest %(high)s.") % extremes
        else:
            text += " " + _("Lowest %(low)s, highest %(high)s.") % extremes
    return text.replace(" .", ".")


def chart_script(data: dict[str, Any]) -> SafeString:
    """`data` as Django's json_script filter hands it over, ``<script id="chart-data"
    type="application/json">`` with <, > and & written as \\u escapes (no text in it can end the
    script), written by orjson (PyPI): a year's chart is some 50 kB of JSON. A lazy translation is
    written as its text; a non-finite number (none is stored) as null."""
    text = orjson.dumps(data, default=str)
    for char, escaped in ((b"<", b"\\u003C"), (b">", b"\\u003E"), (b"&", b"\\u0026")):
        text = text.replace(char, escaped)
    return format_html('<script id="chart-data" type="application/json">{}</script>', mark_safe(text.decode()))  # noqa: S308


def chart_data(series: Series) -> dict[str, Any]:
    """What static/js/clinician/charts.js draws, handed over by `chart_script`."""
    raw = series.resolution == "raw"
    unit = unit_label(series.latest.unit) if series.latest else ""
    start = series.start or series.first or series.end
    datasets = [
        {
            "part": part,
            "label": str(PART_NAMES.get(part, kind_name(series.kind))),
            "points": _raw_points(series, part) if raw else _bucket_points(series, part),
        }
        for part in parts_of(series.kind)
    ]
    bands = [
        {
            "part": part,
            "low": rng.low,
            "high": rng.high,
            "label": str(_("Normal range")) + (f" ({str(PART_NAMES[part]).lower()})" if part in PART_NAMES else ""),
        }
        for part, rng in series.ranges.items()
        if series.kind != Kind.NEWS2
    ]
    return {
        "kind": series.kind,
        "resolution": series.resolution,
        "min": naive_local(start),
        "max": naive_local(series.end),
        "unit": unit,
        "yTitle": f"{kind_name(series.kind)} ({unit})" if unit else kind_name(series.kind),
        "datasets": datasets,
        "bands": bands,
        "news2": series.kind == Kind.NEWS2,
        "labels": {
            "amended": str(_("Amended value")),
            "light": str(_("The municipality's assessment")),
            "device": str(_("Device")),
            "outside": str(_("Outside normal range")),
            "range": str(_("lowest–highest")),
            "mean": str(_("mean")),
            "riskLow": str(RISK_LABELS["low"]),
            "riskMedium": str(RISK_LABELS["medium"]),
            "riskHigh": str(RISK_LABELS["high"]),
        },
    }
