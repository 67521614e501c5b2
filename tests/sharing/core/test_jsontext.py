"""orjson writes the JSON only where it says what json says; everything else is left to json."""

import json
import math
from decimal import Decimal

from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from sharing.core.jsontext import fast_json
from sharing.fhir.renderers import FHIRJSONRenderer

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_what_orjson_writes_reads_back_as_what_json_writes(value):
    fast = fast_json(value)
    if fast is None:
        return
    assert json.loads(fast) == json.loads(json.dumps(value, ensure_ascii=False))


def test_what_orjson_would_write_differently_is_left_to_json():
    for value in (
        {"value": 2**70},  # beyond 64 bits: orjson refuses it
        {"value": math.inf},  # orjson would write null
        [math.nan],
        {"value": Decimal("1.5")},
        {"text": gettext_lazy("No such Observation, or you may not see it.")},
        {"text": "\ud800"},  # a lone surrogate
        {1: "a key that is not a string"},
        {"valueString": None},
    ):
        assert fast_json(value) is None, value
    assert fast_json({"valueQuantity": {"value": 72.5, "unit": "/min"}, "note": "Pål"}) == (
        '{"valueQuantity":{"value":72.5,"unit":"/min"},"note":"Pål"}'.encode()
    )


def test_the_api_renders_every_value_json_can_write():
    renderer = FHIRJSONRenderer()
    outcome = {"issue": [{"diagnostics": "Påkrevd", "n": 2**70}]}
    assert renderer.render(outcome) == '{"issue":[{"diagnostics":"Påkrevd","n":1180591620717411303424}]}'.encode()
    assert renderer.render({"text": "\ud800"}) == b'{"text":"?"}'  # replaced, not a 500
