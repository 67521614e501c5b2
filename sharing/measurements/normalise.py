"""FHIR Observation (VkpObservation) -> the portal's normalised measurement.

``normalise()`` returns a ``Normalised`` (possibly with warnings, whose flags are
stored with the measurement) or raises ``RejectedObservation`` with FHIR
OperationOutcome-style issues. No other exception escapes for JSON-like input.
The policy (what is rejected, what is flagged, and why) is in docs/ingest.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from sharing.identifiers import PATIENT_SYSTEMS, SYSTEM_ORGNR, InvalidIdentifier, national_id_for_system, parse_orgnr

from .kinds import Kind
from .profiles import (
    BY_CODE,
    OBSERVATION_CATEGORY,
    SYSTEM_PREFERENCE,
    URL_TO_PROFILE_ID,
    Profile,
    ValueType,
    matching_profiles,
)
from .units import UCUM, UnitError, convert

__all__ = ["Issue", "Normalised", "RejectedObservation", "normalise"]

OSLO = ZoneInfo("Europe/Oslo")
MAX_DEPTH = 32
MAX_STRING = 1_000_000
MAX_NODES = 20_000
MAX_ISSUES = 20
# Column sizes of sharing.measurements.models.Measurement.
MAX_CODE, MAX_CODE_SYSTEM, MAX_PATIENT_VALUE, MAX_UNIT, MAX_DISPLAY = 64, 100, 32, 32, 200

R4_STATUSES = ("registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown")
PRELIMINARY_STATUSES = frozenset({"registered", "preliminary"})
_EFFECTIVE_KEYS = ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "effectiveTiming")
_VALUE_KEYS = (
    "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger", "valueRange",
    "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod",
)  # fmt: skip
# FHIR date/dateTime/instant, plus two upstream quirks: missing seconds, missing offset.
_WHEN = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)
_PATIENT_SYSTEMS_TEXT = (
    "FNR urn:oid:2.16.578.1.12.4.1.4.1, DNR urn:oid:2.16.578.1.12.4.1.4.2, FHN urn:oid:2.16.578.1.12.4.1.4.3"
)


@dataclass(frozen=True)
class Issue:
    severity: Literal["error", "warning"]
    code: str  # FHIR IssueType
    expression: str  # FHIRPath
    diagnostics: str
    flag: str = ""  # warnings: stable flag code stored with the measurement


class RejectedObservation(Exception):
    """The Observation cannot be stored; ``issues`` holds at least one error (errors first)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(i.diagnostics for i in issues if i.severity == "error"))


@dataclass(frozen=True)
class Normalised:
    kind: Kind
    code_system: str
    code: str
    code_display: str
    patient_system: str
    patient_value: str
    patient_display: str
    effective: datetime
    effective_end: datetime | None
    status: str
    value: float | None
    unit: str
    value_code: str
    value_display: str
    components: dict[str, float]
    reference_low: float | None
    reference_high: float | None
    source_identifier: str
    resource_id: str
    performer_orgnrs: tuple[str, ...]
    warnings: tuple[Issue, ...]
    content_hash: str
    data_absent_reason: str = ""  # dataAbsentReason code when no value was sent

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.flag for w in self.warnings if w.flag))


@dataclass
class _Report:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, code: str, expression: str, diagnostics: str) -> None:
        self.errors.append(Issue("error", code, expression, diagnostics))

    def warn(self, flag: str, code: str, expression: str, diagnostics: str) -> None:
        self.warnings.append(Issue("warning", code, expression, diagnostics, flag))

    def reject(self) -> RejectedObservation:
        return RejectedObservation(self.errors[:MAX_ISSUES] + self.warnings)


@dataclass(frozen=True)
class _When:
    start: datetime
    end: datetime | None
    expression: str  # where it came from, e.g. "Observation.effectiveDateTime"
    partial: bool = False  # only precise to the month or year


def normalise(resource: Any, *, now: datetime, clock_skew: timedelta = timedelta(minutes=5)) -> Normalised:
    """Validate and normalise one Observation (parsed JSON). Raises ``RejectedObservation``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rep = _Report()
    if not isinstance(resource, dict):
        rep.error("structure", "Observation", "The resource must be a JSON object (a FHIR Observation).")
        raise rep.reject()
    resource_type = resource.get("resourceType")
    if resource_type != "Observation":
        shown = repr(resource_type)[:60] if isinstance(resource_type, str) else "missing"
        code = "not-supported" if isinstance(resource_type, str) else "structure"
        rep.error(code, "Observation.resourceType", f"resourceType is {shown}; only 'Observation' is accepted.")
        raise rep.reject()
    if (problem := _guard(resource)) is not None:
        rep.errors.append(problem)
        raise rep.reject()
    data = dict(resource)  # shallow: only top-level effective[x] keys are taken out below
    when = _take_effective(data, rep)
    try:
        obs = Observation.model_validate(data)
    except ValidationError as exc:
        rep.errors.extend(_pydantic_issues(exc))
        raise rep.reject() from None
    except Exception:  # noqa: BLE001 - fhir.resources may raise anything on hostile input
        rep.error("structure", "Observation", "The resource could not be parsed as a FHIR R4 Observation.")
        raise rep.reject() from None
    return _build(obs, when, rep, now.astimezone(UTC), clock_skew)


# --- guards and pre-cleaning (before pydantic) ---------------------------------------------


def _guard(resource: dict[str, Any]) -> Issue | None:
    """Bound depth, size and value types without recursion, before pydantic sees the input."""
    nodes = 0
    stack: list[tuple[Any, int, str]] = [(resource, 1, "Observation")]
    while stack:
        obj, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return Issue("error", "too-long", path, f"The resource is nested deeper than {MAX_DEPTH} levels.")
        is_object = isinstance(obj, dict)
        for key, value in obj.items() if is_object else enumerate(obj):
            nodes += 1
            if nodes > MAX_NODES:
                return Issue("error", "too-long", "Observation", f"The resource has more than {MAX_NODES} elements.")
            if is_object and (not isinstance(key, str) or len(key) > MAX_STRING):
                return Issue("error", "structure", path, "Object keys must be strings of reasonable length.")
            if isinstance(value, str):
                if len(value) > MAX_STRING:
                    return Issue("error", "too-long", _sub(path, key), f"Strings may be at most {MAX_STRING} chars.")
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1, _sub(path, key)))
            elif isinstance(value, float | Decimal):
                if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
                    return Issue("error", "value", _sub(path, key), "Numbers must be finite (no NaN or Infinity).")
            elif value is not None and not isinstance(value, int):
                return Issue("error", "structure", _sub(path, key), f"{type(value).__name__} is not a JSON value.")
    return None


def _sub(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{str(key)[:60]}"


def _parse_when(text: str, expression: str, rep: _Report, *, instant: bool = False) -> tuple[datetime, bool] | None:
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
            rep.warn(
                "effective-no-offset", "value", expression, "The time has no UTC offset; read as Europe/Oslo time."
            )
        micro = int((frac or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        kind = "instant" if instant else "dateTime"
        rep.error("value", expression, f"{text[:40]!r} is not a valid FHIR {kind} (e.g. 2024-05-01T08:30:00+02:00).")
        return None
    return moment, day is None


def _take_effective(data: dict[str, Any], rep: _Report) -> _When | None:
    """Pop effectiveDateTime/Instant/Period from ``data`` and parse them ourselves.

    fhir.resources refuses times without a UTC offset, which upstream systems send;
    we read those as Europe/Oslo time and flag them. effectiveTiming is left in.
    """
    present = [k for k in _EFFECTIVE_KEYS if k in data]
    if len(present) > 1:
        rep.error(
            "structure", "Observation.effective[x]", f"Only one effective[x] is allowed; got {', '.join(present)}."
        )
    raw_dt, raw_inst, raw_period = (data.pop(k, None) for k in _EFFECTIVE_KEYS[:3])
    for key, raw in (("effectiveDateTime", raw_dt), ("effectiveInstant", raw_inst)):
        expr = f"Observation.{key}"
        if key not in present:
            continue
        if raw is None or isinstance(raw, str) and not raw.strip():
            rep.warn("effective-empty", "value", expr, f"{key} was empty; treated as absent.")
        elif not isinstance(raw, str):
            rep.error("structure", expr, f"{key} must be a string.")
        elif parsed := _parse_when(raw, expr, rep, instant=key == "effectiveInstant"):
            return _When(parsed[0], None, expr, parsed[1])
        return None
    if raw_period is None:
        return None
    path = "Observation.effectivePeriod"
    if not isinstance(raw_period, dict) or not set(raw_period) <= {"id", "extension", "start", "end"}:
        rep.error("structure", path, "effectivePeriod must be an object with 'start' and/or 'end'.")
        return None
    parsed_ends: list[tuple[datetime, bool] | None] = []
    for key in ("start", "end"):
        raw = raw_period.get(key)
        if raw is not None and not isinstance(raw, str):
            rep.error("structure", f"{path}.{key}", f"effectivePeriod.{key} must be a string.")
            return None
        parsed_ends.append(_parse_when(raw, f"{path}.{key}", rep) if raw else None)
    start, end = parsed_ends
    if start and end and end[0] < start[0]:
        rep.error("value", path, "effectivePeriod.end is before effectivePeriod.start (per-1).")
    first = start or end
    if first is None:
        return None
    partial = bool(start and start[1] or end and end[1])
    return _When(first[0], end[0] if start and end else None, path, partial)


def _pydantic_issues(exc: ValidationError) -> list[Issue]:
    issues = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:MAX_ISSUES]:
        parts = ["Observation"]
        for item in err["loc"]:
            if isinstance(item, int):
                parts[-1] += f"[{item}]"
            elif item == "resource_type":
                parts.append("resourceType")
            elif item != "root":
                parts.append(str(item)[:60])
        path, kind, msg = ".".join(parts), err["type"], err["msg"].removeprefix("Value error, ")
        if kind.endswith("missing"):
            issues.append(Issue("error", "required", path, f"{path} is required but missing."))
        elif kind == "extra_forbidden":
            issues.append(Issue("error", "structure", path, f"{path} is not an element of a FHIR R4 Observation."))
        elif "Decimal" in msg:
            issues.append(Issue("error", "value", path, f"{path} must be a JSON number such as 72 or 36.6."))
        else:
            issues.append(Issue("error", "structure", path, f"{path} is invalid: {msg[:200]}"))
    return issues


# --- building the measurement from the parsed model ----------------------------------------


def _build(obs: Observation, when: _When | None, rep: _Report, now: datetime, skew: timedelta) -> Normalised:
    profile, coding = _classify(obs, rep)
    vital = profile is not None and profile.vital_sign
    if obs.modifierExtension or obs.implicitRules or any(c.modifierExtension for c in obs.component or []):
        rep.error(
            "not-supported", "Observation.modifierExtension", "Modifier extensions and implicitRules are not supported."
        )
    status = obs.status or ""
    if status not in R4_STATUSES:
        rep.error(
            "code-invalid", "Observation.status", f"Status {status[:40]!r} is not one of {', '.join(R4_STATUSES)}."
        )
    elif status in PRELIMINARY_STATUSES:
        rep.warn("status-preliminary", "business-rule", "Observation.status", f"Status is {status!r}, not final.")
    patient_system, patient_value, patient_display = _subject(obs, rep)
    when = _effective(obs, when, rep, vital, now, skew)
    if vital:
        categories = (c for cat in obs.category or [] for c in cat.coding or [])
        if not any(c.system == OBSERVATION_CATEGORY and c.code == "vital-signs" for c in categories):
            rep.warn(
                "missing-category", "required", "Observation.category", "Vital signs should have category vital-signs."
            )
        if when is not None and when.expression == "Observation.effectiveInstant":
            msg = "The vital-signs profiles allow effectiveDateTime or effectivePeriod; the instant was used."
            rep.warn("effective-instant", "structure", when.expression, msg)
    _claimed_profiles(obs, profile, rep)
    has_value = any(getattr(obs, k) is not None for k in _VALUE_KEYS)
    value, unit, value_code, value_display, absent = _value(obs, profile, has_value, rep)
    components = _components(obs, profile, has_value, value, rep)
    reference_low, reference_high = _reference(obs, profile, rep)
    orgnrs = _performers(obs, profile, rep)
    if rep.errors or coding is None or when is None:
        raise rep.reject()
    kind = profile.kind if profile else Kind.OTHER
    code_display = (coding.display or obs.code.text or "")[:MAX_DISPLAY]
    source = next((f"{i.system}|{i.value}" for i in obs.identifier or [] if i.system and i.value), "")
    what = kind.value if profile else f"{coding.system}|{coding.code}"
    end = when.end.isoformat() if when.end else None
    canonical = [patient_system, patient_value, what, when.start.isoformat(), end, value, unit,
                 sorted(components.items()), value_code]  # fmt: skip
    digest = hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()
    return Normalised(
        kind=kind, code_system=coding.system, code=coding.code, code_display=code_display,
        patient_system=patient_system, patient_value=patient_value, patient_display=patient_display,
        effective=when.start, effective_end=when.end, status=status, value=value, unit=unit,
        value_code=value_code, value_display=value_display, components=components,
        reference_low=reference_low, reference_high=reference_high, source_identifier=source,
        resource_id=obs.id or "", performer_orgnrs=orgnrs, warnings=tuple(rep.warnings),
        content_hash=digest, data_absent_reason=absent,
    )  # fmt: skip


def _classify(obs: Observation, rep: _Report) -> tuple[Profile | None, Any]:
    usable = [c for c in (obs.code.coding if obs.code else None) or [] if c.system and c.code]
    if not usable:
        rep.error("required", "Observation.code.coding", "Observation.code needs a coding with system and code.")
        return None, None
    found = matching_profiles(usable)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        rep.error("code-invalid", "Observation.code.coding", f"The codings name different measurements ({names}).")
    profile = found[0] if found else None
    mine = [c for c in usable if profile is None or BY_CODE.get((c.system, c.code)) is profile]
    rank = {system: n for n, system in enumerate(SYSTEM_PREFERENCE)}
    coding = min(mine, key=lambda c: rank.get(c.system, len(rank)))
    if len(coding.code) > MAX_CODE or len(coding.system) > MAX_CODE_SYSTEM:
        msg = f"Code system and code may be at most {MAX_CODE_SYSTEM} and {MAX_CODE} characters."
        rep.error("too-long", "Observation.code.coding", msg)
    return profile, coding


_ID_PROBLEMS = {
    "format": "is not an 11-digit number",
    "date": "does not start with a valid date",
    "checksum": "fails the control-digit check",
    "kind": "is not the kind of number its system says",
}


def _subject(obs: Observation, rep: _Report) -> tuple[str, str, str]:
    ident = obs.subject.identifier if obs.subject else None
    system = (ident.system or "") if ident else ""
    value = (ident.value or "").strip() if ident else ""
    if not system or not value:
        msg = f"The patient must be sent as subject.identifier with system and value ({_PATIENT_SYSTEMS_TEXT})."
        rep.error("required", "Observation.subject.identifier", msg)
        return system, value, ""
    if system not in PATIENT_SYSTEMS:
        msg = f"Patient identifier system {system[:100]!r} is not accepted; use {_PATIENT_SYSTEMS_TEXT}."
        rep.error("code-invalid", "Observation.subject.identifier.system", msg)
        return system, value, ""
    try:
        value = national_id_for_system(system, value).value
    except InvalidIdentifier as exc:
        problem = _ID_PROBLEMS.get(exc.code, "is not valid")
        msg = f"The patient identifier {problem}; stored as sent (upstream identifiers are flagged, not rejected)."
        rep.warn("upstream-id-invalid", "value", "Observation.subject.identifier.value", msg)
    if len(value) > MAX_PATIENT_VALUE:
        rep.error("too-long", "Observation.subject.identifier.value", "The patient identifier is too long.")
    display = (obs.subject.display or "").strip() if obs.subject else ""
    if not display:
        rep.warn("missing-subject-display", "required", "Observation.subject.display", "subject.display is missing.")
    return system, value, display[:MAX_DISPLAY]


def _effective(
    obs: Observation, when: _When | None, rep: _Report, vital: bool, now: datetime, skew: timedelta
) -> _When | None:
    if when is None and any(e.expression.startswith("Observation.effective") for e in rep.errors):
        return None
    if when is None:
        if vital:
            msg = "A vital sign needs effectiveDateTime or effectivePeriod, precise to the day (vs-1)."
            rep.error("required", "Observation.effective[x]", msg)
            return None
        if obs.issued is None:
            rep.error("required", "Observation.effective[x]", "The Observation needs an effective time.")
            return None
        issued = obs.issued if obs.issued.tzinfo else obs.issued.replace(tzinfo=OSLO)
        when = _When(issued.astimezone(UTC), None, "Observation.issued")
        rep.warn("effective-from-issued", "required", "Observation.effective[x]", "No effective time; used issued.")
    if when.partial:
        if vital and when.expression == "Observation.effectiveDateTime":
            rep.error("value", when.expression, "A vital sign's effectiveDateTime must be precise to the day (vs-1).")
        else:
            rep.warn("effective-imprecise", "value", when.expression, "The time is only precise to a month or year.")
    if when.start > now + skew or (when.end is not None and when.end > now + skew):
        rep.error(
            "business-rule",
            when.expression,
            f"The effective time is in the future (after {now + skew:%Y-%m-%dT%H:%M}Z).",
        )
    return when


def _claimed_profiles(obs: Observation, profile: Profile | None, rep: _Report) -> None:
    for i, url in enumerate(obs.meta.profile or [] if obs.meta else []):
        hit = URL_TO_PROFILE_ID.get(url)
        if hit is None:
            continue
        claimed, legacy = hit
        expr = f"Observation.meta.profile[{i}]"
        if legacy:
            rep.warn("legacy-profile-url", "value", expr, f"Legacy profile URL for {claimed}; classified by code.")
        if profile is not None and claimed not in (profile.profile_id, "vkp-Observation"):
            rep.warn("profile-mismatch", "value", expr, f"meta.profile says {claimed}, the code says {profile.name}.")


def _value(
    obs: Observation, profile: Profile | None, has_value: bool, rep: _Report
) -> tuple[float | None, str, str, str, str]:
    """(value, unit, value_code, value_display, data_absent_reason) in the kind's canonical unit."""
    name = next((k for k in _VALUE_KEYS if getattr(obs, k) is not None), None)
    absent = obs.dataAbsentReason
    if has_value and absent is not None:
        rep.error(
            "business-rule",
            "Observation.dataAbsentReason",
            "dataAbsentReason must be empty when a value is sent (obs-6).",
        )
    if profile is not None and profile.value_type is ValueType.COMPONENTS:
        if name:
            rep.warn(
                "value-ignored",
                "structure",
                f"Observation.{name}",
                "Blood pressure values belong in components; value[x] ignored.",
            )
        return None, profile.components[0].canonical_unit, "", "", ""
    if name is None:
        if absent is not None:
            reason = next((c.code for c in absent.coding or [] if c.code), absent.text or "")[:MAX_CODE]
            rep.warn(
                "data-absent",
                "required",
                "Observation.dataAbsentReason",
                f"No value: data absent ({reason or 'no reason'}).",
            )
            return None, profile.canonical_unit if profile else "", "", "", reason
        rule = " (vs-2/vs-3)" if profile is not None and profile.vital_sign else ""
        rep.error("required", "Observation.value[x]", f"A value or a dataAbsentReason is required{rule}.")
        return None, "", "", "", ""
    expr = f"Observation.{name}"
    if profile is None or profile.value_type is ValueType.CODEABLE:
        if name == "valueCodeableConcept":
            cc = obs.valueCodeableConcept
            coding = next((c for c in cc.coding or [] if c.code), None)
            code, display = (coding.code, coding.display or cc.text or "") if coding else ("", cc.text or "")
            if not code and not display:
                rep.error("required", expr, "valueCodeableConcept needs a coding with a code, or a text.")
            elif len(code) > MAX_CODE:
                rep.error("too-long", expr, f"The value code may be at most {MAX_CODE} characters.")
            return None, "", code, display[:MAX_DISPLAY], ""
        if profile is not None:
            rep.error("value", expr, f"{profile.name} needs valueCodeableConcept, not {name}.")
            return None, "", "", "", ""
        if name == "valueString":
            if len(obs.valueString) > MAX_DISPLAY:
                rep.warn("value-truncated", "too-long", expr, f"valueString was cut to {MAX_DISPLAY} characters.")
            return None, "", "", obs.valueString[:MAX_DISPLAY], ""
        if name == "valueBoolean":
            return None, "", "true" if obs.valueBoolean else "false", "", ""
        if name not in ("valueQuantity", "valueInteger"):
            rep.error(
                "not-supported",
                expr,
                f"{name} is not supported; send valueQuantity, valueInteger, valueCodeableConcept, "
                "valueString or valueBoolean.",
            )
            return None, "", "", "", ""
    number, sent_unit = _number(obs, name, expr, profile, rep)
    if number is None or profile is None:
        if len(sent_unit) > MAX_UNIT:
            rep.error("too-long", f"{expr}.code", f"The unit may be at most {MAX_UNIT} characters.")
        return number, sent_unit, "", "", ""
    label = profile.name.replace("_", " ")
    try:
        number = convert(number, sent_unit, allowed=profile.units, canonical=profile.canonical_unit, what=label)
    except UnitError as exc:
        rep.error("code-invalid", f"{expr}.code", str(exc))
        return None, "", "", "", ""
    if profile.value_type is ValueType.INTEGER and not number.is_integer():
        rep.error("value", expr, f"The {label} must be a whole number; got {number:g}.")
    if profile.value_range and not profile.value_range[0] <= number <= profile.value_range[1]:
        low, high = profile.value_range
        rep.error("value", expr, f"The {label} must be between {low} and {high}; got {number:g}.")
    return number, profile.canonical_unit, "", "", ""


def _number(obs: Any, name: str, expr: str, profile: Profile | None, rep: _Report) -> tuple[float | None, str]:
    """(finite number, unit code as sent) from valueQuantity, or valueInteger on unit-less kinds."""
    if name == "valueInteger" and (profile is None or not profile.canonical_unit):
        return float(obs.valueInteger), ""
    if name != "valueQuantity":
        extra = " or valueInteger" if profile is not None and not profile.canonical_unit else ""
        rep.error("value", expr, f"The {profile.name if profile else 'value'} needs valueQuantity{extra}, not {name}.")
        return None, ""
    q = obs.valueQuantity
    number = float(q.value) if q.value is not None else math.nan
    if not math.isfinite(number):
        rep.error(
            "required" if q.value is None else "value", f"{expr}.value", "valueQuantity.value must be a finite number."
        )
        return None, ""
    unit = (q.code or q.unit or "").strip()
    if q.comparator:
        rep.warn(
            "value-comparator",
            "value",
            f"{expr}.comparator",
            f"The value has comparator {q.comparator!r}; stored without it.",
        )
    if profile is not None and profile.canonical_unit and (not q.code or q.system != UCUM or not q.unit):
        rep.warn(
            "quantity-incomplete",
            "required",
            expr,
            "The quantity should carry value, unit, system http://unitsofmeasure.org and code.",
        )
    if not unit and profile is not None and profile.canonical_unit:
        rep.error("required", f"{expr}.code", f"A unit is required; accepted UCUM codes: {', '.join(profile.units)}.")
        return None, ""
    return number, unit


def _components(
    obs: Observation, profile: Profile | None, has_value: bool, value: float | None, rep: _Report
) -> dict[str, float]:
    own = {(c.system, c.code) for c in obs.code.coding or []} if obs.code else set()
    specs = profile.component_by_code if profile is not None else {}
    found: dict[str, float] = {}
    seen: set[str] = set()
    for i, comp in enumerate(obs.component or []):
        expr = f"Observation.component[{i}]"
        keys = [(c.system, c.code) for c in comp.code.coding or [] if c.system and c.code]
        if has_value and any(k in own for k in keys):
            rep.error(
                "business-rule",
                f"{expr}.code",
                "A component must not repeat Observation.code when a value is sent (obs-7).",
            )
        spec = next((specs[k] for k in keys if k in specs), None)
        if spec is None:
            flag = "unknown-component" if specs else "components-ignored"
            rep.warn(flag, "not-supported", f"{expr}.code", "This component is not used for this measurement; ignored.")
            continue
        if spec.key in seen:
            rep.error("value", expr, f"More than one {spec.key} component.")
            continue
        seen.add(spec.key)
        q = comp.valueQuantity
        if q is not None and q.value is not None and math.isfinite(float(q.value)):
            try:
                number = convert(float(q.value), (q.code or q.unit or "").strip(), allowed=spec.units,
                                 canonical=spec.canonical_unit, what=f"the {spec.key} component")  # fmt: skip
            except UnitError as exc:
                rep.error("code-invalid", f"{expr}.valueQuantity.code", str(exc))
                continue
        elif comp.valueInteger is not None and not spec.canonical_unit:
            number = float(comp.valueInteger)
        else:
            if spec.required:
                rep.error("required", f"{expr}.value[x]", f"The {spec.key} component needs a finite valueQuantity.")
            else:
                rep.warn("component-no-value", "required", expr, f"The {spec.key} component has no value; ignored.")
            continue
        if spec.value_range and (not number.is_integer() or not spec.value_range[0] <= number <= spec.value_range[1]):
            rep.error(
                "value",
                expr,
                f"The {spec.key} score must be a whole number from {spec.value_range[0]} to {spec.value_range[1]}.",
            )
            continue
        found[spec.key] = number
    for spec in profile.components if profile is not None else ():
        if spec.required and spec.key not in seen:
            codes = " / ".join(f"{c.code}" for c in spec.codes)
            rep.error(
                "required",
                "Observation.component",
                f"A {spec.key} component ({codes}) in {spec.canonical_unit} is required.",
            )
    if (
        profile is not None
        and profile.kind is Kind.NEWS2
        and value is not None
        and len(found) == len(profile.components)
    ):
        if sum(found.values()) != value:
            rep.warn(
                "news2-sum-mismatch",
                "business-rule",
                "Observation.component",
                "The NEWS2 sub-scores do not add up to the total.",
            )
    return found


def _reference(obs: Observation, profile: Profile | None, rep: _Report) -> tuple[float | None, float | None]:
    """low/high of the first referenceRange that has either, in the kind's canonical unit."""
    sent = obs.valueQuantity
    default_unit = ((sent.code or sent.unit or "") if sent else "") or (profile.canonical_unit if profile else "")
    for i, rr in enumerate(obs.referenceRange or []):
        if rr.low is None and rr.high is None:
            continue
        bounds: list[float | None] = []
        for part, q in (("low", rr.low), ("high", rr.high)):
            number = float(q.value) if q is not None and q.value is not None else math.nan
            if not math.isfinite(number):
                bounds.append(None)
                continue
            if profile is not None and profile.value_type is not ValueType.COMPONENTS:
                try:
                    number = convert(number, (q.code or q.unit or default_unit).strip(), allowed=profile.units,
                                     canonical=profile.canonical_unit, what="the reference range")  # fmt: skip
                except UnitError as exc:
                    rep.warn(
                        "reference-range-unit",
                        "code-invalid",
                        f"Observation.referenceRange[{i}].{part}",
                        f"{exc} Reference range dropped.",
                    )
                    return None, None
            bounds.append(number)
        return bounds[0], bounds[1]
    return None, None


def _performers(obs: Observation, profile: Profile | None, rep: _Report) -> tuple[str, ...]:
    orgnrs: list[str] = []
    for i, ref in enumerate(obs.performer or []):
        ident = ref.identifier
        if ident is None or not ident.system:
            continue
        expr = f"Observation.performer[{i}].identifier"
        if ident.system == SYSTEM_ORGNR and ident.value:
            try:
                orgnrs.append(parse_orgnr(ident.value))
            except InvalidIdentifier:
                rep.warn(
                    "performer-orgnr-invalid",
                    "value",
                    f"{expr}.value",
                    "The organisation number fails its mod-11 check; not used.",
                )
        if profile is not None and ident.system not in profile.performer_systems:
            allowed = ", ".join(sorted(profile.performer_systems))
            rep.warn(
                "performer-identifier-system",
                "code-invalid",
                f"{expr}.system",
                f"Performer identifier system {ident.system[:100]!r} is outside the profile's value set ({allowed}).",
            )
    return tuple(dict.fromkeys(orgnrs))
