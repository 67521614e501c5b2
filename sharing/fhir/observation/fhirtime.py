"""FHIR date, dateTime, instant and Period, read the way upstream feeds really send them.

fhir.resources refuses times without a UTC offset, which upstream systems send; these are
read as Europe/Oslo local time and flagged. Everything comes out as aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from .issues import Report

OSLO = ZoneInfo("Europe/Oslo")
EFFECTIVE_KEYS = ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "effectiveTiming")
# FHIR date/dateTime/instant, plus two upstream quirks: missing seconds, missing offset.
_WHEN = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)


NOT_A_STRING = _("%(key)s must be a string.")


@dataclass(frozen=True)
class When:
    start: datetime
    end: datetime | None
    expression: str  # where it came from, e.g. "Observation.effectiveDateTime"
    partial: bool = False  # only precise to the month or year


def parse_when(text: str, expression: str, rep: Report, *, instant: bool = False) -> tuple[datetime, bool] | None:
    """Parse a FHIR date/dateTime/instant to aware UTC; returns (moment, partial) or None on error.

    Dates and times without an offset are Europe/Oslo local time (FHIR leaves dates
    zone-less; a time without an offset is an upstream quirk and is flagged).
    """
    m = _WHEN.fullmatch(text.strip())
    try:
        if m is None or (instant and m.group(4) is None):
            raise ValueError(text)
        year, month, day, hour, minute, second, frac, offset = m.groups()
        tz: Any = OSLO
        if offset == "Z":
            tz = UTC
        elif offset is not None:
            if int(offset[4:]) > 59:
                raise ValueError(text)
            sign = -1 if offset[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:])))
        elif hour is not None:
            msg = _("The time has no UTC offset (FHIR requires one); it was read as Europe/Oslo local time.")
            rep.warn("effective-no-offset", "value", expression, msg)
        micro = int((frac or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        msg = _("%(text)r is not a valid FHIR %(kind)s (e.g. 2024-05-01T08:30:00+02:00).")
        rep.error(
            "value", expression, "datetime-invalid", msg, text=text[:40], kind="instant" if instant else "dateTime"
        )
        return None
    return moment, day is None


def take_effective(data: dict[str, Any], rep: Report) -> When | None:
    """Pop effectiveDateTime/Instant/Period from ``data`` and parse them ourselves.

    fhir.resources refuses times without a UTC offset, which upstream systems send;
    we read those as Europe/Oslo time and flag them. effectiveTiming is left in.
    """
    present = [k for k in EFFECTIVE_KEYS if k in data]
    if len(present) > 1:
        msg = _("Only one effective[x] is allowed; got %(keys)s.")
        rep.error("structure", "Observation.effective[x]", "effective-repeated", msg, keys=", ".join(present))
    raw_dt, raw_inst, raw_period = (data.pop(k, None) for k in EFFECTIVE_KEYS[:3])
    for key, raw in (("effectiveDateTime", raw_dt), ("effectiveInstant", raw_inst)):
        expr = f"Observation.{key}"
        if key not in present:
            continue
        if raw is None or isinstance(raw, str) and not raw.strip():
            rep.warn("effective-empty", "value", expr, _("%(key)s was empty; treated as absent."), key=key)
        elif not isinstance(raw, str):
            rep.error("structure", expr, "effective-not-string", NOT_A_STRING, key=key)
        elif parsed := parse_when(raw, expr, rep, instant=key == "effectiveInstant"):
            return When(parsed[0], None, expr, parsed[1])
        return None
    if raw_period is None:
        return None
    path = "Observation.effectivePeriod"
    if not isinstance(raw_period, dict) or not set(raw_period) <= {"id", "extension", "start", "end"}:
        msg = _("effectivePeriod must be an object with 'start' and/or 'end'.")
        rep.error("structure", path, "effective-period-invalid", msg)
        return None
    parsed_ends: list[tuple[datetime, bool] | None] = []
    for key in ("start", "end"):
        raw = raw_period.get(key)
        if raw is not None and not isinstance(raw, str):
            rep.error("structure", f"{path}.{key}", "effective-not-string", NOT_A_STRING, key=f"effectivePeriod.{key}")
            return None
        parsed_ends.append(parse_when(raw, f"{path}.{key}", rep) if raw else None)
    start, end = parsed_ends
    if start and end and end[0] < start[0]:
        msg = _("effectivePeriod.end is before effectivePeriod.start (per-1).")
        rep.error("value", path, "effective-period-order", msg)
    first = start or end
    if first is None:
        return None
    partial = bool(start and start[1] or end and end[1])
    return When(first[0], end[0] if start and end else None, path, partial)
