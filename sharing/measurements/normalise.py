"""FHIR Observation (VkpObservation) -> the portal's normalised measurement.

``normalise()`` returns a ``Normalised`` (possibly with warnings, whose flags are
stored with the measurement) or raises ``RejectedObservation`` with FHIR
OperationOutcome-style issues. No other exception escapes for JSON-like input.
The policy (what is rejected, what is flagged, and why) is in docs/ingest.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
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

logger = logging.getLogger(__name__)
OSLO = ZoneInfo("Europe/Oslo")
INTERNAL_ERROR = "The Observation could not be processed; the portal logged the problem."
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
    try:
        return _build(obs, when, rep, now.astimezone(UTC), clock_skew)
    except RejectedObservation:
        raise
    except Exception:  # a bug here must not crash ingest; logged, and the sender gets a rejection
        logger.exception("normalise() failed on a parsed Observation")
        rep.errors.insert(0, Issue("error", "structure", "Observation", INTERNAL_ERROR))
        raise rep.reject() from None


# --- guards and pre-cleaning (before pydantic) ---------------------------------------------


def _guard(resource: dict[str, Any]) -> Issue | None:
    """Bound depth, size and value types without recursion, before pydantic sees the input.

    Hot path: one pass with ``type()`` checks; paths are only built for the error.
    """
    nodes = 0
    # (container, depth, parent entry, key in parent): the path is rebuilt only on error
    stack: list[tuple[Any, int, Any, Any]] = [(resource, 1, None, None)]
    while stack:
        entry = stack.pop()
        obj, depth = entry[0], entry[1]
        if depth > MAX_DEPTH:
            return Issue("error", "too-long", _path(entry), f"The resource is nested deeper than {MAX_DEPTH} levels.")
        nodes += len(obj)
        if nodes > MAX_NODES:
            return Issue("error", "too-long", "Observation", f"The resource has more than {MAX_NODES} elements.")
        is_object = isinstance(obj, dict)
        for key, value in obj.items() if is_object else enumerate(obj):
            if is_object and (not isinstance(key, str) or len(key) > MAX_STRING):
                return Issue("error", "structure", _path(entry), "Object keys must be strings of reasonable length.")
            kind = type(value)
            if kind is str:
                if len(value) > MAX_STRING:
                    msg = f"Strings may be at most {MAX_STRING} characters."
                    return Issue("error", "too-long", _path((None, 0, entry, key)), msg)
            elif kind is dict or kind is list:
                stack.append((value, depth + 1, entry, key))
            elif kind is int or kind is bool or value is None:
                pass
            elif kind is float or kind is Decimal:
                if not (value.is_finite() if kind is Decimal else math.isfinite(value)):
                    msg = "Numbers must be finite (no NaN or Infinity)."
                    return Issue("error", "value", _path((None, 0, entry, key)), msg)
            elif isinstance(value, dict | list):  # subclasses, e.g. from object_pairs_hook
                stack.append((value, depth + 1, entry, key))
            elif isinstance(value, str | int | float | Decimal) and not isinstance(value, float | Decimal):
                if isinstance(value, str) and len(value) > MAX_STRING:
                    msg = f"Strings may be at most {MAX_STRING} characters."
                    return Issue("error", "too-long", _path((None, 0, entry, key)), msg)
            else:
                msg = f"{kind.__name__} is not a JSON value."
                return Issue("error", "structure", _path((None, 0, entry, key)), msg)
    return None


def _path(entry: tuple[Any, int, Any, Any]) -> str:
    keys = []
    while entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    return "Observation" + "".join(f"[{k}]" if type(k) is int else f".{str(k)[:60]}" for k in reversed(keys))


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
            msg = "The time has no UTC offset (FHIR requires one); it was read as Europe/Oslo local time."
            rep.warn("effective-no-offset", "value", expression, msg)
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
        msg = f"Only one effective[x] is allowed; got {', '.join(present)}."
        rep.error("structure", "Observation.effective[x]", msg)
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


def _items(values: list[Any] | None) -> list[Any]:
    """List elements, without the nulls pydantic lets through."""
    return [v for v in values or () if v is not None]


def _build(obs: Observation, when: _When | None, rep: _Report, now: datetime, skew: timedelta) -> Normalised:
    profile, coding = _classify(obs, rep)
    vital = profile is not None and profile.vital_sign
    if obs.modifierExtension or obs.implicitRules or any(c.modifierExtension for c in _items(obs.component)):
        msg = "modifierExtension and implicitRules change the meaning of data and are not supported; omit them."
        rep.error("not-supported", "Observation.modifierExtension", msg)
    status = obs.status or ""
    if status not in R4_STATUSES:
        msg = f"Status {status[:40]!r} is not one of {', '.join(R4_STATUSES)}."
        rep.error("code-invalid", "Observation.status", msg)
    elif status in PRELIMINARY_STATUSES:
        rep.warn(
            "status-preliminary",
            "business-rule",
            "Observation.status",
            f"Status is {status!r}; stored, but shown as not final.",
        )
    patient_system, patient_value, patient_display = _subject(obs, rep)
    when = _effective(obs, when, rep, vital, now, skew)
    if vital:
        categories = (c for cat in _items(obs.category) for c in _items(cat.coding))
        if not any(c.system == OBSERVATION_CATEGORY and c.code == "vital-signs" for c in categories):
            msg = f"Vital signs should have category vital-signs ({OBSERVATION_CATEGORY}); stored without it."
            rep.warn("missing-category", "required", "Observation.category", msg)
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
    source = next((f"{i.system}|{i.value}" for i in _items(obs.identifier) if i.system and i.value), "")
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
    usable = [c for c in _items(obs.code.coding if obs.code else None) if c.system and c.code]
    if not usable:
        rep.error(
            "required",
            "Observation.code.coding",
            "Observation.code needs a coding with system and code (LOINC, SNOMED CT or NPU).",
        )
        return None, None
    found = matching_profiles(usable)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        rep.error(
            "code-invalid",
            "Observation.code.coding",
            f"The codings name different measurements ({names}); send codes for one only.",
        )
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
        msg = "subject.display (the patient's name, Must Support in VKP) is missing; stored without it."
        rep.warn("missing-subject-display", "required", "Observation.subject.display", msg)
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
        msg = "No usable effective[x]; Observation.issued was used as the measurement time."
        rep.warn("effective-from-issued", "required", "Observation.effective[x]", msg)
    if when.partial:
        if vital and when.expression == "Observation.effectiveDateTime":
            rep.error("value", when.expression, "A vital sign's effectiveDateTime must be precise to the day (vs-1).")
        else:
            msg = "The time is only precise to a month or year; stored as the first day, Europe/Oslo midnight."
            rep.warn("effective-imprecise", "value", when.expression, msg)
    if when.start > now + skew or (when.end is not None and when.end > now + skew):
        msg = f"The effective time is in the future (after {now + skew:%Y-%m-%dT%H:%M}Z)."
        rep.error("business-rule", when.expression, msg)
    return when


def _claimed_profiles(obs: Observation, profile: Profile | None, rep: _Report) -> None:
    for i, url in enumerate(_items(obs.meta.profile if obs.meta else None)):
        hit = URL_TO_PROFILE_ID.get(url)
        if hit is None:
            continue
        claimed, legacy = hit
        expr = f"Observation.meta.profile[{i}]"
        if legacy:
            msg = f"Legacy profile URL; the current one is http://hl7.no/fhir/vkpobservation/StructureDefinition/{claimed}."
            rep.warn("legacy-profile-url", "value", expr, msg)
        if profile is not None and claimed not in (profile.profile_id, "vkp-Observation"):
            msg = f"meta.profile says {claimed} but the code is {profile.name}; classified by the code."
            rep.warn("profile-mismatch", "value", expr, msg)


def _value(
    obs: Observation, profile: Profile | None, has_value: bool, rep: _Report
) -> tuple[float | None, str, str, str, str]:
    """(value, unit, value_code, value_display, data_absent_reason) in the kind's canonical unit."""
    name = next((k for k in _VALUE_KEYS if getattr(obs, k) is not None), None)
    absent = obs.dataAbsentReason
    if has_value and absent is not None:
        msg = "dataAbsentReason must be empty when a value is sent (obs-6)."
        rep.error("business-rule", "Observation.dataAbsentReason", msg)
    if profile is not None and profile.value_type is ValueType.COMPONENTS:
        if name:
            msg = "Blood pressure has no value[x] (0..0); values come from the components, value[x] was ignored."
            rep.warn("value-ignored", "structure", f"Observation.{name}", msg)
        return None, profile.components[0].canonical_unit, "", "", ""
    if name is None:
        if absent is not None:
            reason = next((c.code for c in _items(absent.coding) if c.code), absent.text or "")[:MAX_CODE]
            msg = f"No value was sent; dataAbsentReason {reason or '(no code)'} is stored instead."
            rep.warn("data-absent", "required", "Observation.dataAbsentReason", msg)
            return None, profile.canonical_unit if profile else "", "", "", reason
        rule = " (vs-2/vs-3)" if profile is not None and profile.vital_sign else ""
        rep.error("required", "Observation.value[x]", f"A value or a dataAbsentReason is required{rule}.")
        return None, "", "", "", ""
    expr = f"Observation.{name}"
    sent: Any = getattr(obs, name)
    if profile is None or profile.value_type is ValueType.CODEABLE:
        if name == "valueCodeableConcept":
            cc = sent
            coding = next((c for c in _items(cc.coding) if c.code), None)
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
            if len(sent) > MAX_DISPLAY:
                rep.warn("value-truncated", "too-long", expr, f"valueString was cut to {MAX_DISPLAY} characters.")
            return None, "", "", sent[:MAX_DISPLAY], ""
        if name == "valueBoolean":
            return None, "", "true" if sent else "false", "", ""
        if name not in ("valueQuantity", "valueInteger"):
            msg = (
                f"{name} is not supported; send valueQuantity, valueInteger, valueCodeableConcept, "
                "valueString or valueBoolean."
            )
            rep.error("not-supported", expr, msg)
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
        msg = "valueQuantity.value must be a finite number."
        rep.error("required" if q.value is None else "value", f"{expr}.value", msg)
        return None, ""
    unit = (q.code or q.unit or "").strip()
    if q.comparator:
        msg = f"The value has comparator {q.comparator!r}; stored without it."
        rep.warn("value-comparator", "value", f"{expr}.comparator", msg)
    if profile is not None and profile.canonical_unit and (not q.code or q.system != UCUM or not q.unit):
        msg = "The quantity should carry value, unit, system http://unitsofmeasure.org and code."
        rep.warn("quantity-incomplete", "required", expr, msg)
    if not unit and profile is not None and profile.canonical_unit:
        rep.error("required", f"{expr}.code", f"A unit is required; accepted UCUM codes: {', '.join(profile.units)}.")
        return None, ""
    return number, unit


def _components(
    obs: Observation, profile: Profile | None, has_value: bool, value: float | None, rep: _Report
) -> dict[str, float]:
    own = {(c.system, c.code) for c in _items(obs.code.coding if obs.code else None)}
    specs = profile.component_by_code if profile is not None else {}
    found: dict[str, float] = {}
    seen: set[str] = set()
    for i, comp in enumerate(_items(obs.component)):
        expr = f"Observation.component[{i}]"
        keys = [(c.system, c.code) for c in _items(comp.code.coding if comp.code else None) if c.system and c.code]
        if has_value and any(k in own for k in keys):
            msg = "A component must not repeat Observation.code when a value is sent (obs-7)."
            rep.error("business-rule", f"{expr}.code", msg)
        spec = next((specs[k] for k in keys if k in specs), None)
        if spec is None:
            flag = "unknown-component" if specs else "components-ignored"
            msg = "This component is not defined for this measurement; it was ignored (the raw resource keeps it)."
            rep.warn(flag, "not-supported", f"{expr}.code", msg)
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
                msg = f"The optional {spec.key} component has no value; it was ignored."
                rep.warn("component-no-value", "required", expr, msg)
            continue
        if spec.value_range and (not number.is_integer() or not spec.value_range[0] <= number <= spec.value_range[1]):
            msg = f"The {spec.key} score must be a whole number from {spec.value_range[0]} to {spec.value_range[1]}."
            rep.error("value", expr, msg)
            continue
        found[spec.key] = number
    for spec in profile.components if profile is not None else ():
        if spec.required and spec.key not in seen:
            codes = " / ".join(f"{c.code}" for c in spec.codes)
            msg = f"A {spec.key} component ({codes}) in {spec.canonical_unit} is required."
            rep.error("required", "Observation.component", msg)
    if (
        profile is not None
        and profile.kind is Kind.NEWS2
        and value is not None
        and len(found) == len(profile.components)
    ):
        if sum(found.values()) != value:
            msg = "The NEWS2 sub-scores do not add up to the total."
            rep.warn("news2-sum-mismatch", "business-rule", "Observation.component", msg)
    return found


def _reference(obs: Observation, profile: Profile | None, rep: _Report) -> tuple[float | None, float | None]:
    """low/high of the first referenceRange that has either, in the kind's canonical unit."""
    sent = obs.valueQuantity
    default_unit = ((sent.code or sent.unit or "") if sent else "") or (profile.canonical_unit if profile else "")
    for i, rr in enumerate(_items(obs.referenceRange)):
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
                    msg = f"{exc} Reference range dropped."
                    rep.warn("reference-range-unit", "code-invalid", f"Observation.referenceRange[{i}].{part}", msg)
                    return None, None
            bounds.append(number)
        return bounds[0], bounds[1]
    return None, None


def _performers(obs: Observation, profile: Profile | None, rep: _Report) -> tuple[str, ...]:
    orgnrs: list[str] = []
    for i, ref in enumerate(_items(obs.performer)):
        ident = ref.identifier
        if ident is None or not ident.system:
            continue
        expr = f"Observation.performer[{i}].identifier"
        if ident.system == SYSTEM_ORGNR and ident.value:
            try:
                orgnrs.append(parse_orgnr(ident.value))
            except InvalidIdentifier:
                msg = "The organisation number fails its mod-11 check; not used."
                rep.warn("performer-orgnr-invalid", "value", f"{expr}.value", msg)
        if profile is not None and ident.system not in profile.performer_systems:
            allowed = ", ".join(sorted(profile.performer_systems))
            msg = f"Performer identifier system {ident.system[:100]!r} is outside the profile's value set ({allowed})."
            rep.warn("performer-identifier-system", "code-invalid", f"{expr}.system", msg)
    return tuple(dict.fromkeys(orgnrs))
