"""Display text and view models for the clinician pages: labels, numbers in the reader's
locale, cards, trend lines, the chart's data and the CSV file.

Reads come from sharing (overview.py) as numbers; everything a person reads is made here,
translated through Django's i18n, with Norwegian number and date formats by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

from sharing.core.kinds import Kind
from sharing.measurements.overview import (
    TREND_DAYS,
    Alert,
    KindSummary,
    PartSummary,
    Range,
    Reading,
    news2_risk,
    parts_of,
)

KIND_NAMES: dict[str, Promise] = {
    Kind.HEART_RATE: gettext_lazy("Pulse"),
    Kind.BLOOD_PRESSURE: gettext_lazy("Blood pressure"),
    Kind.OXYGEN_SATURATION: gettext_lazy("Oxygen saturation (SpO₂)"),
    Kind.BODY_TEMPERATURE: gettext_lazy("Body temperature"),
    Kind.BODY_WEIGHT: gettext_lazy("Weight"),
    Kind.RESPIRATORY_RATE: gettext_lazy("Respiratory rate"),
    Kind.GLUCOSE: gettext_lazy("Blood glucose"),
    Kind.CONSCIOUSNESS: gettext_lazy("Level of consciousness (ACVPU)"),
    Kind.NEWS2: gettext_lazy("NEWS2"),
    Kind.CFS: gettext_lazy("Clinical Frailty Scale"),
    Kind.QUESTIONNAIRE_SCORE: gettext_lazy("Questionnaire score"),
    Kind.OTHER: gettext_lazy("Other measurement"),
}
PART_NAMES: dict[str, Promise] = {
    "systolic": gettext_lazy("Systolic"),
    "diastolic": gettext_lazy("Diastolic"),
}
UNIT_LABELS = {"mm[Hg]": "mmHg", "Cel": "°C", "/min": "/min", "%": "%", "kg": "kg", "mmol/L": "mmol/L"}
# Decimals shown for a kind's values (the table shows stored values exactly).
DECIMALS: dict[str, int] = {Kind.BODY_WEIGHT: 1, Kind.BODY_TEMPERATURE: 1, Kind.GLUCOSE: 1}
STATUS_LABELS: dict[str, Promise] = {
    "final": gettext_lazy("Final"),
    "amended": gettext_lazy("Amended"),
    "corrected": gettext_lazy("Corrected"),
    "preliminary": gettext_lazy("Preliminary"),
    "registered": gettext_lazy("Registered"),
    "unknown": gettext_lazy("Unknown status"),
}
# Flags set by ingest (docs/ingest.md). "warn" ones can change how a value is read.
# Clinicians see only CLINICAL_FLAGS; the rest are about the sender's integration, which the
# clinician cannot act on, and go to the municipality's admins instead.
FLAG_LABELS: dict[str, tuple[Promise, str]] = {
    "upstream-id-invalid": (gettext_lazy("Patient ID failed its check digits at the sender"), "warn"),
    "status-preliminary": (gettext_lazy("Preliminary, not final"), "warn"),
    "news2-sum-mismatch": (gettext_lazy("NEWS2 sub-scores do not add up to the total"), "warn"),
    "value-comparator": (gettext_lazy("Value given as above or below a limit"), "warn"),
    "data-absent": (gettext_lazy("Value missing at the sender"), "warn"),
    "effective-from-issued": (gettext_lazy("Measurement time missing; time of recording used"), "warn"),
    "effective-imprecise": (gettext_lazy("Time known only to the month or year"), "warn"),
    "effective-no-offset": (gettext_lazy("Time sent without time zone; read as Norwegian time"), "info"),
    "effective-instant": (gettext_lazy("Time sent in a format the profile does not allow"), "info"),
    "effective-empty": (gettext_lazy("Empty time field at the sender"), "info"),
    "missing-category": (gettext_lazy("Category missing"), "info"),
    "missing-subject-display": (gettext_lazy("Patient name missing at the sender"), "info"),
    "legacy-profile-url": (gettext_lazy("Sent with an old profile address"), "info"),
    "profile-mismatch": (gettext_lazy("Profile does not match the code"), "info"),
    "value-ignored": (gettext_lazy("Part of the value was ignored"), "info"),
    "value-truncated": (gettext_lazy("Text value shortened"), "info"),
    "quantity-incomplete": (gettext_lazy("Unit information incomplete"), "info"),
    "component-no-value": (gettext_lazy("A component had no value"), "info"),
    "components-ignored": (gettext_lazy("Extra components ignored"), "info"),
    "unknown-component": (gettext_lazy("Unknown component ignored"), "info"),
    "reference-range-unit": (gettext_lazy("Reference range in another unit; ignored"), "info"),
    "performer-orgnr-invalid": (gettext_lazy("Sender's organisation number failed its check"), "info"),
    "performer-identifier-system": (gettext_lazy("Unexpected performer identifier"), "info"),
    "implausible-value": (gettext_lazy("Implausible value: check before use"), "warn"),
}
# What changes how a clinician reads the value (docs/clinician.md, "Flags"). A correction is shown
# by its status; the patient-identity flags cannot reach a page found by a valid number.
CLINICAL_FLAGS = frozenset(
    {"status-preliminary", "implausible-value", "value-comparator", "effective-imprecise", "effective-from-issued"}
)
ALERT_LABELS: dict[str, Promise] = {
    "weight-gain": gettext_lazy("Weight up 2 kg or more within 3 days"),
    "news2-single-parameter": gettext_lazy("One parameter scores 3"),
    "mean-high": gettext_lazy("7-day mean above the range"),
    "mean-low": gettext_lazy("7-day mean below the range"),
    "news2-rising": gettext_lazy("NEWS2 rising"),
    "spo2-falling": gettext_lazy("SpO₂ falling"),
    "acvpu-not-alert": gettext_lazy("Not alert (ACVPU): scores 3 in NEWS2"),
}
# How each alert's amount is shown: the change against the week before, or the mean itself.
ALERT_AMOUNTS: dict[str, Promise] = {
    "weight-gain": gettext_lazy("%(amount)s kg"),
    "news2-rising": gettext_lazy("%(amount)s against the week before"),
    "spo2-falling": gettext_lazy("%(amount)s percentage points against the week before"),
}
RANGE_SOURCES: dict[str, Promise] = {
    "municipality": gettext_lazy("from the municipality's follow-up plan"),
    "default": gettext_lazy("default"),
}
# The municipality's interpretation (v3-ObservationInterpretation), shown as a traffic light.
LIGHTS: dict[str, tuple[str, Promise]] = {
    "N": ("green", gettext_lazy("Normal")),
    **{code: ("amber", gettext_lazy("Deviation")) for code in ("A", "H", "L", "W", "U", "D", "B")},
    **{code: ("red", gettext_lazy("Critical")) for code in ("AA", "HH", "LL", "HU", "LU", "<", ">")},
}
RISK_LABELS: dict[str, Promise] = {
    "low": gettext_lazy("Low clinical risk"),
    "medium": gettext_lazy("Medium clinical risk"),
    "high": gettext_lazy("High clinical risk"),
}
STATE_LABELS: dict[str, Promise] = {
    "high": pgettext_lazy("value state", "Above range"),
    "low": pgettext_lazy("value state", "Below range"),
}


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def decimal_separator() -> str:
    return _decimal_separator(get_language())


def number(value: float | None, decimals: int | None = None, sep: str | None = None) -> str:
    """A number in the reader's locale (decimal comma in Norwegian); exact when no decimals given.

    Plain string formatting with the locale's decimal separator: a year's table formats
    thousands of numbers, and Django's number_format costs ten times as much for the same text.
    """
    if value is None:
        return "–"
    text = f"{value:.6f}".rstrip("0").rstrip(".") if decimals is None else f"{value:.{decimals}f}"
    if text in ("-0", "-0.0", "-0.00"):
        text = text[1:]
    return text.replace(".", sep or decimal_separator())


@lru_cache(maxsize=8)
def _decimal_separator(language: str) -> str:
    return str(formats.get_format("DECIMAL_SEPARATOR", lang=language))


def signed(value: float, decimals: int) -> str:
    shown = number(abs(value), decimals)
    if shown == number(0, decimals):
        return "±" + shown
    return ("+" if value > 0 else "−") + shown


def oslo(moment: dt.datetime) -> dt.datetime:
    """Europe/Oslo time (the default zone, cached; the portal never activates another)."""
    return moment.astimezone(timezone.get_default_timezone())


def local_time(moment: dt.datetime) -> str:
    """dd.mm.yyyy hh:mm in Europe/Oslo (the Norwegian numeric form, also used in English)."""
    return oslo(moment).strftime("%d.%m.%Y %H:%M")


def naive_local(moment: dt.datetime) -> str:
    """Oslo wall-clock time without an offset: the browser's date adapter reads it as shown."""
    return oslo(moment).replace(tzinfo=None).isoformat(timespec="minutes")


def value_text(reading: Reading) -> str:
    decimals = DECIMALS.get(reading.kind)
    if reading.kind == Kind.BLOOD_PRESSURE:
        return "/".join(number(reading.values.get(p), decimals) for p in parts_of(reading.kind))
    if "value" in reading.values:
        return number(reading.values["value"], decimals)
    return reading.text or "–"


def exact_text(reading: Reading, sep: str | None = None) -> str:
    if reading.kind == Kind.BLOOD_PRESSURE:
        return "/".join(number(reading.values.get(p), sep=sep) for p in parts_of(reading.kind))
    return number(reading.values["value"], sep=sep) if "value" in reading.values else reading.text


def range_text(rng: Range | None, kind: str) -> str:
    if rng is None:
        return ""
    decimals = DECIMALS.get(kind, 0)
    if rng.low is not None and rng.high is not None:
        return f"{number(rng.low, decimals)}–{number(rng.high, decimals)}"
    if rng.low is not None:
        return f"≥ {number(rng.low, decimals)}"
    return f"≤ {number(rng.high, decimals)}"


def alert_text(alert: Alert, kind: str) -> str:
    """An alert's label, with the amount that triggered it."""
    label = str(ALERT_LABELS.get(alert.code, alert.code))
    if alert.amount is None:
        return label
    decimals = DECIMALS.get(kind, 0)
    if alert.code in ("mean-high", "mean-low"):
        what = f"{str(PART_NAMES[alert.part]).lower()} " if alert.part in PART_NAMES else ""
        return f"{label} ({what}{number(alert.amount, decimals + 1)})"  # a mean: one decimal more than a reading
    if alert.code in ALERT_AMOUNTS:
        shown = signed(alert.amount if alert.code != "spo2-falling" else -alert.amount, 1)
        return f"{label} ({ALERT_AMOUNTS[alert.code] % {'amount': shown}})"
    return label


@dataclass(frozen=True)
class Light:
    colour: str  # "green", "amber", "red", "" (a code we do not know)
    label: str
    code: str


def light(code: str) -> Light | None:
    """The municipality's interpretation as a traffic light; None when it sent none."""
    if not code:
        return None
    colour, label = LIGHTS.get(code, ("", code))
    return Light(colour, str(label), code)


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    severity: str  # "warn" or "info"


def flags(codes: Iterable[str]) -> list[Flag]:
    """The clinically meaningful flags among `codes`, labelled; data-quality flags are left out."""
    shown = []
    for code in codes:
        if code not in CLINICAL_FLAGS:
            continue
        label, severity = FLAG_LABELS.get(code, (code, "info"))
        shown.append(Flag(code, str(label), severity))
    return shown


@dataclass(frozen=True)
class Sparkline:
    view_box: str
    lines: list[tuple[str, str]]  # (part, "x,y x,y ...")
    band: tuple[float, float] | None  # y and height of the normal range, in view-box units
    description: str

    # The normal range's rectangle, as the SVG's attributes write it.
    @property
    def band_y(self) -> str:
        return f"{self.band[0]:g}" if self.band else ""

    @property
    def band_height(self) -> str:
        return f"{self.band[1]:g}" if self.band else ""


SPARK_W, SPARK_H, SPARK_PAD = 160.0, 40.0, 3.0
_SPARK_INNER_H = SPARK_H - 2 * SPARK_PAD


def _spark_x(index: int) -> float:
    """Where the line's point for the index-th day of the trend window goes across."""
    return round(index / (TREND_DAYS - 1) * SPARK_W, 1)


# Every card's line has a point on the same few days: their x, written once.
_SPARK_XS = tuple(str(_spark_x(index)) for index in range(TREND_DAYS))


def sparkline(parts: Sequence[PartSummary], kind: str, now: dt.datetime) -> Sparkline | None:
    series = [p for p in parts if p.trend]
    if not series:
        return None
    values = [v for p in series for _day, v in p.trend]
    lo, hi = min(values), max(values)
    span = (hi - lo) or max(1.0, abs(hi) * 0.05)
    lo, hi = lo - span * 0.15, hi + span * 0.15
    first_day = timezone.localtime(now).date() - dt.timedelta(days=TREND_DAYS - 1)
    height = hi - lo

    def y(value: float) -> float:
        return round(SPARK_PAD + (hi - value) / height * _SPARK_INNER_H, 1)

    def x(day: dt.date) -> str:
        index = (day - first_day).days
        return _SPARK_XS[index] if 0 <= index < TREND_DAYS else str(_spark_x(index))

    lines = [(p.part, " ".join([f"{x(day)},{y(v)}" for day, v in p.trend])) for p in series]
    band = None
    rng = series[0].range if len(series) == 1 else None
    if rng is not None:
        top = 0.0 if rng.high is None else max(0.0, min(SPARK_H, y(rng.high)))
        bottom = SPARK_H if rng.low is None else max(0.0, min(SPARK_H, y(rng.low)))
        band = (top, bottom - top) if bottom > top else None
    decimals = DECIMALS.get(kind, 0)
    first, last = series[0].trend[0][1], series[0].trend[-1][1]
    description = _("Daily average over the last %(days)s days, from %(first)s to %(last)s.") % {
        "days": TREND_DAYS,
        "first": number(first, decimals),
        "last": number(last, decimals),
    }
    return Sparkline(f"0 0 {SPARK_W:g} {SPARK_H:g}", lines, band, description)


CHANGE_ARROWS = {"up": "↑", "down": "↓"}  # "flat": "→"


@dataclass(frozen=True)
class Card:
    """One kind's card on the patient page: every text it shows, ready to print (the page renders
    several, so what the template would otherwise work out per card is done here)."""

    kind: str
    name: str
    value: str
    unit: str
    time: str
    time_iso: str
    status: str
    amended: bool
    state: str | None
    state_label: str
    range: str
    range_source: str
    mean: str
    change: str
    change_direction: str  # "up", "down", "flat", ""
    recent_count: int
    recent_text: str  # "27 measurements in 7 days"
    count: int
    risk: str | None
    risk_label: str
    alerts: list[str]
    flags: list[Flag]
    spark: Sparkline | None
    light: Light | None = None
    note: str = ""
    device: str = ""

    @property
    def css_class(self) -> str:
        """The article's classes: alert when out of range or alerted, and the NEWS2 risk."""
        alert = " kind-card--alert" if self.state or self.alerts else ""
        return f"kind-card{alert} kind-card--risk-{self.risk}" if self.risk else f"kind-card{alert}"

    @property
    def state_arrow(self) -> str:
        """Above or below the range (shown only when the value is out of range)."""
        return "▲" if self.state == "high" else "▼"

    @property
    def change_arrow(self) -> str:
        """The change's direction (shown only when there is a change)."""
        return CHANGE_ARROWS.get(self.change_direction, "→")


def recent_text(count: int) -> str:
    """The card's foot, "27 measurements in 7 days"."""
    return ngettext("%(counter)s measurement in 7 days", "%(counter)s measurements in 7 days", count) % {
        "counter": count
    }


def _joined(parts: Sequence[PartSummary], attr: str, decimals: int) -> str:
    values = [getattr(p, attr) for p in parts]
    if any(v is None for v in values):
        return ""
    return "/".join(number(v, decimals) for v in values)


def range_source_text(parts: Sequence[PartSummary]) -> str:
    """Where a card's range came from: the municipality's follow-up plan or the default."""
    ranges = [p.range for p in parts if p.range is not None]
    own = any(r.source == "municipality" for r in ranges)
    text = str(RANGE_SOURCES["municipality" if own else "default"])
    scale = next((r.scale for r in ranges if r.scale), None)
    return text + (", " + _("NEWS2 SpO₂ scale %(scale)s") % {"scale": scale} if scale else "")


def card(summary: KindSummary, now: dt.datetime) -> Card:
    latest, parts = summary.latest, summary.parts
    decimals = DECIMALS.get(summary.kind, 0)
    changes = [p.change for p in parts]
    known = [c for c in changes if c is not None]
    change = "/".join(signed(c, decimals) for c in known) if len(known) == len(changes) else ""
    lead = known[0] if known and len(known) == len(changes) else None
    direction = "" if lead is None else "flat" if round(lead, decimals) == 0 else "up" if lead > 0 else "down"
    state = next((p.state for p in parts if p.state), None)
    ranges = [range_text(p.range, summary.kind) for p in parts if p.range is not None]
    risk = news2_risk(latest.values.get("value")) if summary.kind == Kind.NEWS2 else None
    return Card(
        kind=summary.kind,
        name=kind_name(summary.kind),
        value=value_text(latest),
        unit=unit_label(latest.unit),
        time=local_time(latest.effective),
        time_iso=latest.effective.isoformat(),
        status=str(STATUS_LABELS.get(latest.status, latest.status)),
        amended=latest.amended,
        state=state,
        state_label=str(STATE_LABELS[state]) if state else "",
        range=" / ".join(ranges),
        range_source=range_source_text(parts) if ranges else "",
        mean=_joined(parts, "mean_recent", decimals),
        change=change,
        change_direction=direction,
        recent_count=summary.recent_count,
        recent_text=recent_text(summary.recent_count),
        count=summary.count,
        risk=risk,
        risk_label=str(RISK_LABELS[risk]) if risk else "",
        alerts=[alert_text(a, summary.kind) for a in summary.alerts],
        light=light(latest.interpretation),
        note=latest.note,
        device=latest.device,
        flags=flags(latest.flags),
        spark=sparkline(parts, summary.kind, now),
    )
