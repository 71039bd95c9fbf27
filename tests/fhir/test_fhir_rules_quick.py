"""The rules' quick walk (sync.fhir.rules._scan) decides only whether the walks that name a broken rule run: so
`rule_error` must give, word for word, what those walks alone give, for any resource. Checked on every resource of
two demo patients, on the hostile cases, and on generated JSON trees built to break each rule."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.fhir import parse_document
from sync.fhir.rules import _contained_error, _narratives_error, _value_errors, rule_error

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def _named_walks(resource: dict[str, Any]) -> str | None:
    """What rule_error said before the quick walk: every walk, in order."""
    for reason in _value_errors(resource, ""):
        return reason
    return _contained_error(resource) or _narratives_error(resource)


def test_demo_patients_get_the_same_verdicts(demo_dir: Path) -> None:
    paths = [p for p in sorted(demo_dir.glob("*.json")) if p.name.startswith(("Karena", "Reyna"))]  # the smallest two
    resources = [res.data for path in paths for res in parse_document(path.read_bytes(), validate=False).resources]
    assert len(resources) > 400 and any("div" in r.get("text", {}) for r in resources)
    assert [rule_error(r) for r in resources] == [_named_walks(r) for r in resources]
    assert any(rule_error(r) is None for r in resources)


HOSTILE: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "n", "name": [{"family": None}]},
    {"resourceType": "Patient", "id": "c", "name": [{"family": "Qu\x07ill"}]},
    {"resourceType": "Observation", "id": "big", "valueQuantity": {"value": Decimal("1e400")}},
    {"resourceType": "Observation", "id": "tiny", "valueQuantity": {"value": Decimal("1e-400")}},
    {"resourceType": "Observation", "id": "int", "valueInteger": 10**400},
    {"resourceType": "Patient", "id": "pad", "given": ["a", None], "_given": [None, {"id": "x"}]},
    {"resourceType": "Patient", "id": "x1", "text": {"status": "generated", "div": f"<div {XHTML}><script>1</script></div>"}},
    {"resourceType": "Patient", "id": "x2", "text": {"status": "generated", "div": f"<div {XHTML}>fine</div>"}},
    {"resourceType": "Patient", "id": "x3", "text": {"status": "generated", "div": f"<div {XHTML}> </div>"}},
    {"resourceType": "Patient", "id": "x4", "note": {"div": "<b>not a narrative</b>"}},
    {"resourceType": "Patient", "id": "x5", "text": {"status": "generated", "div": f"<div {XHTML}>\x01</div>"}},
    {"resourceType": "Patient", "id": "d2", "contained": [{"resourceType": "Organization", "id": "o", "contained": [{}]}]},
    {"resourceType": "Patient", "id": "d3", "contained": [{"resourceType": "Organization", "id": "o"}]},
    {"resourceType": "Patient", "id": "ok", "contained": [{"resourceType": "Organization", "id": "o"}],
     "managingOrganization": {"reference": "#o"}},
    {"resourceType": "Patient", "id": "both", "contained": [{"resourceType": "Organization", "id": "o"}], "gender": None},
    {"resourceType": "Patient", "id": "flag", "active": True, "multipleBirthInteger": 2},
]


def test_the_hostile_cases_get_the_same_reasons() -> None:
    reasons = [rule_error(r) for r in HOSTILE]
    assert reasons == [_named_walks(r) for r in HOSTILE]
    assert reasons[0] and "null" in reasons[0] and reasons[-1] is None and reasons[9] is None


def _tree() -> st.SearchStrategy[Any]:
    keys = st.sampled_from(["div", "text", "contained", "id", "reference", "value", "name", "_given", "item"])
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.sampled_from([Decimal("1e400"), Decimal("-1e999"), Decimal("1e-400"), Decimal("0E-10")]),
        st.text(max_size=8),
        st.sampled_from([f"<div {XHTML}>ok</div>", f"<div {XHTML}><iframe/></div>", "#o", "o", "Patient/p"]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=20,
    )


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["text", "contained", "id", "item", "value"]), _tree(), max_size=4))
def test_generated_trees_get_the_same_reasons(fields: dict[str, Any]) -> None:
    resource = {"resourceType": "Basic", **fields}
    assert rule_error(resource) == _named_walks(resource)
