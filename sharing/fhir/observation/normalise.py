"""FHIR Observation (VkpObservation) -> the portal's normalised measurement.

``normalise()`` returns a ``Normalised`` (possibly with warnings, whose flags are
stored with the measurement) or raises ``RejectedObservation`` with FHIR
OperationOutcome-style issues. No other exception escapes for JSON-like input.
The policy (what is rejected, what is flagged, and why) is in docs/ingest.md.

The parts: ``guard`` (size and depth before parsing), ``fhirtime`` (effective[x]),
``values`` (value[x], components, reference range), ``profiles`` and ``units``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from fhir.resources.observation import Observation as ObservationR5
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from sharing.core.kinds import Kind
from sharing.identifiers import PATIENT_SYSTEMS, SYSTEM_ORGNR, InvalidIdentifier, national_id_for_system, parse_orgnr

from . import context, guard
from .fhirtime import OSLO, When, take_effective
from .issues import MAX_ISSUES, Issue, RejectedObservation, Report, error
from .profiles import (
    BY_CODE,
    CANONICAL_BASE,
    OBSERVATION_CATEGORY,
    SYSTEM_PREFERENCE,
    URL_TO_PROFILE_ID,
    Profile,
    matching_profiles,
)
from .values import (
    MAX_CODE,
    MAX_CODE_SYSTEM,
    MAX_DISPLAY,
    MAX_PATIENT_VALUE,
    VALUE_KEYS,
    extract_components,
    extract_reference,
    extract_value,
    items,
)

__all__ = ["Issue", "Normalised", "RejectedObservation", "normalise"]

logger = logging.getLogger(__name__)
INTERNAL_ERROR = _("The Observation could not be processed; the portal logged the problem.")

R4_STATUSES = ("registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown")
PRELIMINARY_STATUSES = frozenset({"registered", "preliminary"})

_PATIENT_SYSTEMS_TEXT = (
    "FNR urn:oid:2.16.578.1.12.4.1.4.1, DNR urn:oid:2.16.578.1.12.4.1.4.2, FHN urn:oid:2.16.578.1.12.4.1.4.3"
)


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
    # What the sender's system said beside the value (context.py): ranges per component
    # ({"systolic": [low, high]}), its interpretation code, the note and the device.
    ranges: dict[str, list[float | None]] = field(default_factory=dict)
    interpretation: str = ""
    note: str = ""
    device: str = ""
    fhir_version: str = "4.0"  # the FHIR version the resource parsed as: "4.0" (R4/R4B) or "5.0" (R5)

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.flag for w in self.warnings if w.flag))


def normalise(resource: Any, *, now: datetime, clock_skew: timedelta = timedelta(minutes=5)) -> Normalised:
    """Validate and normalise one Observation (parsed JSON). Raises ``RejectedObservation``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rep = Report()
    if not isinstance(resource, dict):
        msg = _("The resource must be a JSON object (a FHIR Observation).")
        rep.error("structure", "Observation", "not-an-object", msg)
        raise rep.reject()
    resource_type = resource.get("resourceType")
    if resource_type != "Observation":
        if isinstance(resource_type, str):
            msg = _("resourceType is %(sent)s; only 'Observation' is accepted.")
            rep.error("not-supported", "Observation.resourceType", "resource-type", msg, sent=repr(resource_type)[:60])
        else:
            msg = _("resourceType is missing; only 'Observation' is accepted.")
            rep.error("structure", "Observation.resourceType", "resource-type", msg)
        raise rep.reject()
    if (problem := guard.check(resource)) is not None:
        rep.errors.append(problem)
        raise rep.reject()
    data = dict(resource)  # shallow: only top-level effective[x] keys are taken out below
    when = take_effective(data, rep)
    try:
        obs, version = _parse(data)
    except ValidationError as exc:
        rep.errors.extend(_pydantic_issues(exc))
        raise rep.reject() from None
    except Exception:  # noqa: BLE001 - fhir.resources may raise anything on hostile input
        msg = _("The resource could not be parsed as a FHIR R4 or R5 Observation.")
        rep.error("structure", "Observation", "parse-failed", msg)
        raise rep.reject() from None
    try:
        return _build(obs, when, rep, now.astimezone(UTC), clock_skew, version)
    except RejectedObservation:
        raise
    except Exception:  # a bug here must not crash ingest; logged, and the sender gets a rejection
        logger.exception("normalise() failed on a parsed Observation")
        rep.errors.insert(0, error("structure", "Observation", "internal-error", INTERNAL_ERROR))
        raise rep.reject() from None


def _parse(data: dict[str, Any]) -> tuple[Observation, str]:
    """Parse as R4 (R4B's Observation), else as R5 (PMD 2.0 speaks R5, backwards compatible for
    Observation). An R4 resource stays R4; one with R5-only elements (triggeredBy, bodyStructure,
    instantiates[x], ...) parses as R5. When neither fits, the R4 errors are reported.

    The R5 model is read as the R4B one: every element ``_build`` reads has the same name and
    shape in both (checked by tests/sharing/fhir/test_r5.py).
    """
    try:
        return Observation.model_validate(data), "4.0"
    except ValidationError as r4_error:
        try:
            return cast(Observation, ObservationR5.model_validate(data)), "5.0"
        except ValidationError:
            raise r4_error from None


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
            issues.append(
                error("required", path, "element-required", _("%(path)s is required but missing."), path=path)
            )
        elif kind == "extra_forbidden":
            text = _("%(path)s is not an element of a FHIR R4 Observation.")
            issues.append(error("structure", path, "element-unknown", text, path=path))
        elif "Decimal" in msg:
            text = _("%(path)s must be a JSON number such as 72 or 36.6.")
            issues.append(error("value", path, "number-expected", text, path=path))
        else:  # the parser's own reason, in English, in parentheses
            text = _("%(path)s is invalid (%(reason)s).")
            issues.append(error("structure", path, "element-invalid", text, path=path, reason=msg[:200]))
    return issues


# --- building the measurement from the parsed model ----------------------------------------


def _build(
    obs: Observation, when: When | None, rep: Report, now: datetime, skew: timedelta, version: str = "4.0"
) -> Normalised:
    profile, coding = _classify(obs, rep)
    vital = profile is not None and profile.vital_sign
    if obs.modifierExtension or obs.implicitRules or any(c.modifierExtension for c in items(obs.component)):
        msg = _("modifierExtension and implicitRules change the meaning of data and are not supported; omit them.")
        rep.error("not-supported", "Observation.modifierExtension", "modifier-not-supported", msg)
    status = obs.status or ""
    if status not in R4_STATUSES:
        msg = _("Status %(status)r is not one of %(statuses)s.")
        rep.error("code-invalid", "Observation.status", "status-invalid", msg, status=status[:40],
                  statuses=", ".join(R4_STATUSES))  # fmt: skip
    elif status in PRELIMINARY_STATUSES:
        msg = _("Status is %(status)r; stored, but shown as not final.")
        rep.warn("status-preliminary", "business-rule", "Observation.status", msg, status=status)
    patient_system, patient_value, patient_display = _subject(obs, rep)
    when = _effective(obs, when, rep, vital, now, skew)
    if vital:
        categories = (c for cat in items(obs.category) for c in items(cat.coding))
        if not any(c.system == OBSERVATION_CATEGORY and c.code == "vital-signs" for c in categories):
            msg = _("Vital signs should have category vital-signs (%(system)s); stored without it.")
            rep.warn("missing-category", "required", "Observation.category", msg, system=OBSERVATION_CATEGORY)
        if when is not None and when.expression == "Observation.effectiveInstant":
            msg = _("The vital-signs profiles allow effectiveDateTime or effectivePeriod; the instant was used.")
            rep.warn("effective-instant", "structure", when.expression, msg)
    _claimed_profiles(obs, profile, rep)
    has_value = any(getattr(obs, k) is not None for k in VALUE_KEYS)
    value, unit, value_code, value_display, absent = extract_value(obs, profile, has_value, rep)
    components = extract_components(obs, profile, has_value, value, rep)
    reference_low, reference_high = extract_reference(obs, profile, rep)
    ranges = context.component_ranges(obs, profile.component_by_code, rep) if profile is not None else {}
    orgnrs = _performers(obs, profile, rep)
    if rep.errors or coding is None or when is None:
        raise rep.reject()
    kind = profile.kind if profile else Kind.OTHER
    code_display = (coding.display or obs.code.text or "")[:MAX_DISPLAY]
    source = next((f"{i.system}|{i.value}" for i in items(obs.identifier) if i.system and i.value), "")
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
        content_hash=digest, data_absent_reason=absent, ranges=ranges,
        interpretation=context.interpretation(obs), note=context.note(obs), device=context.device(obs),
        fhir_version=version,
    )  # fmt: skip


def _classify(obs: Observation, rep: Report) -> tuple[Profile | None, Any]:
    usable = [c for c in items(obs.code.coding if obs.code else None) if c.system and c.code]
    if not usable:
        msg = _("Observation.code needs a coding with system and code (LOINC, SNOMED CT or NPU).")
        rep.error("required", "Observation.code.coding", "code-required", msg)
        return None, None
    found = matching_profiles(usable)
    if len(found) > 1:
        msg = _("The codings name different measurements (%(names)s); send codes for one only.")
        rep.error(
            "code-invalid", "Observation.code.coding", "code-ambiguous", msg, names=", ".join(p.name for p in found)
        )
    profile = found[0] if found else None
    mine = [c for c in usable if profile is None or BY_CODE.get((c.system, c.code)) is profile]
    rank = {system: n for n, system in enumerate(SYSTEM_PREFERENCE)}
    coding = min(mine, key=lambda c: rank.get(c.system, len(rank)))
    if len(coding.code) > MAX_CODE or len(coding.system) > MAX_CODE_SYSTEM:
        msg = _("Code system and code may be at most %(system)s and %(code)s characters.")
        rep.error("too-long", "Observation.code.coding", "code-too-long", msg, system=MAX_CODE_SYSTEM, code=MAX_CODE)
    return profile, coding


@lru_cache(maxsize=4096)
def _patient_number(system: str, value: str) -> str:
    """The checked number (a pure function of its input: a Bundle names few patients many times,
    so each is checked once; a number that fails raises, and is not cached)."""
    return national_id_for_system(system, value).value


_ID_PROBLEMS = {
    "format": _("is not an 11-digit number"),
    "date": _("does not start with a valid date"),
    "checksum": _("fails the control-digit check"),
    "kind": _("is not the kind of number its system says"),
}


def _subject(obs: Observation, rep: Report) -> tuple[str, str, str]:
    ident = obs.subject.identifier if obs.subject else None
    system = (ident.system or "") if ident else ""
    value = (ident.value or "").strip() if ident else ""
    if not system or not value:
        msg = _("The patient must be sent as subject.identifier with system and value (%(systems)s).")
        rep.error("required", "Observation.subject.identifier", "subject-required", msg, systems=_PATIENT_SYSTEMS_TEXT)
        return system, value, ""
    if system not in PATIENT_SYSTEMS:
        msg = _("Patient identifier system %(system)r is not accepted; use %(systems)s.")
        rep.error("code-invalid", "Observation.subject.identifier.system", "subject-system", msg,
                  system=system[:100], systems=_PATIENT_SYSTEMS_TEXT)  # fmt: skip
        return system, value, ""
    try:
        value = _patient_number(system, value)
    except InvalidIdentifier as exc:
        msg = _("The patient identifier %(problem)s; stored as sent (upstream identifiers are flagged, not rejected).")
        problem = _ID_PROBLEMS.get(exc.code, _("is not valid"))
        rep.warn("upstream-id-invalid", "value", "Observation.subject.identifier.value", msg, problem=problem)
    if len(value) > MAX_PATIENT_VALUE:
        msg = _("The patient identifier is too long.")
        rep.error("too-long", "Observation.subject.identifier.value", "subject-too-long", msg)
    display = (obs.subject.display or "").strip() if obs.subject else ""
    if not display:
        msg = _("subject.display (the patient's name, Must Support in VKP) is missing; stored without it.")
        rep.warn("missing-subject-display", "required", "Observation.subject.display", msg)
    return system, value, display[:MAX_DISPLAY]


def _effective(
    obs: Observation, when: When | None, rep: Report, vital: bool, now: datetime, skew: timedelta
) -> When | None:
    if when is None and any(e.expression.startswith("Observation.effective") for e in rep.errors):
        return None
    if when is None:
        if vital:
            msg = _("A vital sign needs effectiveDateTime or effectivePeriod, precise to the day (vs-1).")
            rep.error("required", "Observation.effective[x]", "effective-required", msg)
            return None
        if obs.issued is None:
            msg = _("The Observation needs an effective time.")
            rep.error("required", "Observation.effective[x]", "effective-required", msg)
            return None
        issued = obs.issued if obs.issued.tzinfo else obs.issued.replace(tzinfo=OSLO)
        when = When(issued.astimezone(UTC), None, "Observation.issued")
        msg = _("No usable effective[x]; Observation.issued was used as the measurement time.")
        rep.warn("effective-from-issued", "required", "Observation.effective[x]", msg)
    if when.partial:
        if vital and when.expression == "Observation.effectiveDateTime":
            msg = _("A vital sign's effectiveDateTime must be precise to the day (vs-1).")
            rep.error("value", when.expression, "effective-day-required", msg)
        else:
            msg = _("The time is only precise to a month or year; stored as the first day, Europe/Oslo midnight.")
            rep.warn("effective-imprecise", "value", when.expression, msg)
    if when.start > now + skew or (when.end is not None and when.end > now + skew):
        msg = _("The effective time is in the future (after %(limit)sZ).")
        rep.error("business-rule", when.expression, "effective-future", msg, limit=f"{now + skew:%Y-%m-%dT%H:%M}")
    return when


def _claimed_profiles(obs: Observation, profile: Profile | None, rep: Report) -> None:
    for i, url in enumerate(items(obs.meta.profile if obs.meta else None)):
        hit = URL_TO_PROFILE_ID.get(url)
        if hit is None:
            continue
        claimed, legacy = hit
        expr = f"Observation.meta.profile[{i}]"
        if legacy:
            msg = _("Legacy profile URL; the current one is %(url)s.")
            rep.warn("legacy-profile-url", "value", expr, msg, url=CANONICAL_BASE + claimed)
        if profile is not None and claimed not in (profile.profile_id, "vkp-Observation"):
            msg = _("meta.profile says %(claimed)s but the code is %(code)s; classified by the code.")
            rep.warn("profile-mismatch", "value", expr, msg, claimed=claimed, code=profile.name)


def _performers(obs: Observation, profile: Profile | None, rep: Report) -> tuple[str, ...]:
    orgnrs: list[str] = []
    for i, ref in enumerate(items(obs.performer)):
        ident = ref.identifier
        if ident is None or not ident.system:
            continue
        expr = f"Observation.performer[{i}].identifier"
        if ident.system == SYSTEM_ORGNR and ident.value:
            try:
                orgnrs.append(parse_orgnr(ident.value))
            except InvalidIdentifier:
                msg = _("The organisation number fails its mod-11 check; not used.")
                rep.warn("performer-orgnr-invalid", "value", f"{expr}.value", msg)
        if profile is not None and ident.system not in profile.performer_systems:
            msg = _("Performer identifier system %(system)r is outside the profile's value set (%(allowed)s).")
            rep.warn("performer-identifier-system", "code-invalid", f"{expr}.system", msg, system=ident.system[:100],
                     allowed=", ".join(sorted(profile.performer_systems)))  # fmt: skip
    return tuple(dict.fromkeys(orgnrs))
