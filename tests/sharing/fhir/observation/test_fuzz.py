"""Property tests: whatever arrives, normalise() returns a Normalised or raises RejectedObservation."""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharing.fhir.observation.normalise import Normalised, RejectedObservation, normalise

from .builders import NOW, blood_pressure, heart_rate, load, quantity, score

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

OBSERVATION_KEYS = [
    "resourceType",
    "id",
    "meta",
    "status",
    "category",
    "code",
    "subject",
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod",
    "effectiveTiming",
    "issued",
    "performer",
    "valueQuantity",
    "valueInteger",
    "valueString",
    "valueCodeableConcept",
    "dataAbsentReason",
    "component",
    "referenceRange",
    "identifier",
    "extension",
    "modifierExtension",
    "coding",
    "system",
    "code",
    "value",
    "unit",
    "display",
    "start",
    "end",
    "text",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "final",
            "Observation",
            "2026-03-20",
            "2026-03-20T08:00:00",
            "2026-03",
            "9999-12-31",
            "/min",
            "g",
            "[lb_av]",
            "http://loinc.org",
            "8867-4",
            "urn:oid:2.16.578.1.12.4.1.4.1",
            "15888540013",
            "1e999",
            "-0",
            "{}",
            "[]",
        ]
    )
)
KEYS = st.sampled_from(OBSERVATION_KEYS) | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def _check(resource: Any) -> None:
    try:
        result = normalise(resource, now=NOW)
    except RejectedObservation as exc:
        assert any(issue.severity == "error" for issue in exc.issues)
        assert all(issue.expression.startswith("Observation") for issue in exc.issues)
        assert all(issue.said.code != "internal-error" for issue in exc.issues), "normalise() hit a bug"
        return
    assert isinstance(result, Normalised)
    assert result.effective.utcoffset() is not None
    assert result.value is None or isinstance(result.value, float)


@FUZZ
@given(JSON)
def test_random_json(value: Any) -> None:
    _check(value)


@FUZZ
@given(st.dictionaries(KEYS, JSON, max_size=8))
def test_random_observation_shaped_objects(fields: dict[str, Any]) -> None:
    _check({"resourceType": "Observation", **fields})


def _examples() -> list[dict[str, Any]]:
    built = [
        heart_rate(),
        blood_pressure(),
        score("763264000", 3),
        score("1104051000000101", 5),
        quantity("http://loinc.org", "29463-7", 80, "kg"),
    ]
    files = [
        "examples/vkp-news2-create.json",
        "examples/vkp-glucose-create.json",
        "examples/vkp-blood-pressure-profile-create.json",
        "examples/heart-rate-create.json",
    ]
    return built + [load(f) for f in files]


EXAMPLES = _examples()


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


@FUZZ
@given(st.sampled_from(range(len(EXAMPLES))), st.data())
def test_mutated_examples(index: int, data: st.DataObject) -> None:
    resource = copy.deepcopy(EXAMPLES[index])
    for _ in range(data.draw(st.integers(1, 4))):
        targets = _containers(resource, [])
        target = data.draw(st.sampled_from(targets))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if isinstance(target, dict):
            keys = list(target)
            key = data.draw(st.sampled_from(keys)) if keys and action != "insert" else data.draw(KEYS)
            if action == "delete":
                target.pop(key, None)
            else:
                target[key] = data.draw(JSON)
        elif target:
            position = data.draw(st.integers(0, len(target) - 1))
            if action == "delete":
                del target[position]
            elif action == "replace":
                target[position] = data.draw(JSON)
            else:
                target.insert(position, data.draw(JSON))
    _check(resource)
