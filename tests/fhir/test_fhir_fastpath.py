"""The fast path (sync.fhir.fastpath) never accepts what fhir.resources rejects.

A differential test: every resource of the demo patients and the test data, and thousands of systematic mutations
of a sample of them (a primitive of the wrong JSON type, a bad date, a code with bad whitespace, an unknown element,
a required element removed, a list where one value goes and the reverse, extensions of every shape, contained
resources, choice types value[x] twice or misnamed, empty objects and lists), are judged by the fast path and by the
R4B models; whatever the fast path accepts, the models must accept. The test also checks that it has teeth (many
mutations are refused, by the models too) and that the fast path is used: on valid data almost no resource is
built as a model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

from sync.fhir import fastpath, parse_document
from sync.fhir.fastpath import accepts
from sync.fhir.parse import _model, dumps, full_validations, loads, validation_error

ROOT = Path(__file__).resolve().parents[2]
Path_ = tuple[str | int, ...]


def _sample_resources() -> list[dict[str, Any]]:
    """Every resource of the demo patients and of the FHIR files among the test data."""
    files = sorted((ROOT / "assets" / "demo-patients").glob("*.json"))
    files += sorted((ROOT / "tests" / "data").rglob("*.json"))
    found: list[dict[str, Any]] = []
    for path in files:
        data = path.read_bytes()
        if b'"resourceType"' not in data[:2000]:
            continue  # a directory list, a key set, a link payload: not FHIR
        found.extend(res.data for res in parse_document(data, validate=False).resources)
    return found


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    resources = _sample_resources()
    assert len(resources) > 5000
    return resources


def _models_accept(resource: dict[str, Any]) -> bool:
    model = _model(resource["resourceType"])
    try:
        model.model_validate(resource)
    except (pydantic.ValidationError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return False
    return True


def _fast_accepts(resource: dict[str, Any], model_type: str) -> bool:
    return accepts(_model(model_type), resource)


def _copy(node: Any) -> Any:
    return loads(dumps(node))


def test_every_sample_resource_the_fast_path_accepts_the_models_accept(sample: list[dict[str, Any]]) -> None:
    accepted = [r for r in sample if _model(r["resourceType"]) is not None and _fast_accepts(r, r["resourceType"])]
    assert len(accepted) > 0.95 * len(sample)
    wrong = [r.get("id") for r in accepted if not _models_accept(r)]
    assert wrong == []


def test_whole_documents_the_fast_path_accepts_the_models_accept() -> None:
    """Bundles as one resource: their entries' resources are checked by their own resourceType (as fhir_core picks
    the model), which the entries alone do not exercise."""
    checked = 0
    for path in sorted((ROOT / "tests" / "data").rglob("*.json")):
        document = loads(path.read_bytes())
        if not isinstance(document, dict) or _model(str(document.get("resourceType"))) is None:
            continue
        mutated = _copy(document)
        mutated["entry"][0]["resource"]["bogus"] = 1
        for candidate in (document, mutated):
            if _fast_accepts(candidate, candidate["resourceType"]):
                checked += 1
                assert _models_accept(candidate), path.name
        assert not _fast_accepts(mutated, mutated["resourceType"])
    assert checked >= 3


def test_valid_data_is_not_built_as_models(sample: list[dict[str, Any]]) -> None:
    """Breaks if the fast path stops being used: valid resources would each be validated by the models again."""
    before = full_validations()
    reasons = [validation_error(r) for r in sample]
    full = full_validations() - before
    valid = sum(reason is None for reason in reasons)
    assert valid > 0.95 * len(sample)
    assert full < 0.01 * len(sample), f"{full} of {len(sample)} resources were validated by the models"


# --- mutations ---------------------------------------------------------------------------------------------------

BAD_STRINGS: tuple[Any, ...] = (
    5, Decimal("1.5"), True, "", "2020-13-45", "2020-02-30", "2020-01-01T25:00:00Z", "2020-01-01T10:00:00",
    "not a date", "a  b", " a", "a\tb", "x" * 70, "-1", "0", "3.5", "true", "urn:uuid:zz",
)  # fmt: skip
BAD_NUMBERS: tuple[Any, ...] = ("5", True, -1, 0, Decimal("1.5"), 2**40, Decimal("1e-3"))
BAD_BOOLEANS: tuple[Any, ...] = ("true", 1, 0, "yes")
EXTENSIONS: tuple[Any, ...] = (
    [{"url": "http://example.org/x", "valueString": "a"}],
    [{"valueString": "a"}],
    [{"url": "http://example.org/x", "valueString": "a", "valueBoolean": True}],
    [{"url": "http://example.org/x", "valueFoo": "a"}],
    [{"url": "http://example.org/x", "extension": [{"url": "y", "valueCode": "a  b"}]}],
    [{"url": "http://example.org/x"}],
    {"url": "http://example.org/x", "valueString": "a"},
    [],
    ["http://example.org/x"],
)
PRIMITIVE_EXTENSIONS: tuple[Any, ...] = (
    {"extension": [{"url": "http://example.org/x", "valueCode": "unknown"}]},
    {},
    {"id": "a"},
    [{"extension": [{"url": "http://example.org/x", "valueCode": "unknown"}]}],
    {"extension": [{"valueCode": "unknown"}]},
)
CONTAINED: tuple[Any, ...] = (
    [{"resourceType": "Medication", "id": "m1", "code": {"text": "x"}}],
    [{"resourceType": "Medication", "id": "m1", "bogus": 1}],
    [{"resourceType": "CodeableConcept", "text": "x"}],
    [{"resourceType": "Nope", "id": "n"}],
    [{"resourceType": "Observation", "id": "o1", "status": "final"}],
    [{"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}, "valueString": "a",
      "valueBoolean": True}],
    [{"id": "m1", "code": {"text": "x"}}],
    {"resourceType": "Medication", "id": "m1"},
    [{"resourceType": "Medication", "id": "m1", "contained": [{"resourceType": "Medication", "id": "m2"}]}],
)  # fmt: skip
CHOICE_TYPES = ("String", "Boolean", "Quantity", "CodeableConcept", "DateTime", "Integer", "Period", "Reference")


def _paths(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _changed(resource: dict[str, Any], path: Path_, change: Callable[[Any, str | int], None]) -> dict[str, Any]:
    """A copy of `resource` with `change(parent, key)` applied where `path` ends."""
    copy = _copy(resource)
    parent: Any = copy
    for step in path[:-1]:
        parent = parent[step]
    change(parent, path[-1])
    return copy


def _set(value: Any) -> Callable[[Any, str | int], None]:
    def change(parent: Any, key: str | int) -> None:
        parent[key] = _copy(value) if isinstance(value, (dict, list)) else value

    return change


def _delete(parent: Any, key: str | int) -> None:
    del parent[key]


def _mutations(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, mutated copy) for every place in `resource`."""
    for path, value in _paths(resource):
        if not path:
            continue
        key = path[-1]
        if isinstance(value, str) and key != "resourceType":
            for bad in BAD_STRINGS:
                yield "primitive", _changed(resource, path, _set(bad))
        elif isinstance(value, bool):
            for bad in BAD_BOOLEANS:
                yield "primitive", _changed(resource, path, _set(bad))
        elif isinstance(value, (int, Decimal)):
            for bad in BAD_NUMBERS:
                yield "primitive", _changed(resource, path, _set(bad))
        if isinstance(key, str):
            yield "required", _changed(resource, path, _delete)
            yield "list vs single", _changed(resource, path, _set(value[0] if isinstance(value, list) else [value]))
            yield "null", _changed(resource, path, _set(None))
            if isinstance(value, (str, bool, int, Decimal)):
                for ext in PRIMITIVE_EXTENSIONS:
                    yield "extension", _changed(resource, path[:-1] + (f"_{key}",), _set(ext))
                yield "extension", _changed(resource, path, _rename(f"_{key}", PRIMITIVE_EXTENSIONS[0]))
            for prefix in ("value", "effective", "onset", "deceased", "multipleBirth", "medication", "occurrence"):
                if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
                    for other in CHOICE_TYPES:
                        yield "choice", _changed(resource, path[:-1] + (prefix + other,), _set(value))
                        yield "choice", _changed(resource, path, _rename(prefix + other, value))
                    yield "choice", _changed(resource, path, _rename(prefix + "Foo", value))
        else:
            yield "list", _changed(resource, path, _set(None))
            yield "list", _changed(resource, path, _set([value]))
        if isinstance(value, dict):
            yield "empty", _changed(resource, path, _set({}))
            yield "unknown element", _changed(resource, (*path, "bogus"), _set(1))
            yield "unknown element", _changed(resource, (*path, "resourceType"), _set("CodeableConcept"))
            yield "unknown element", _changed(resource, (*path, "fhir_comments"), _set(["a"]))
            for ext in EXTENSIONS:
                yield "extension", _changed(resource, (*path, "extension"), _set(ext))
                yield "extension", _changed(resource, (*path, "modifierExtension"), _set(ext))
        elif isinstance(value, list):
            yield "empty", _changed(resource, path, _set([]))
            yield "list", _changed(resource, path, lambda parent, k: parent[k].append(None))
    for contained in CONTAINED:
        yield "contained", _changed(resource, ("contained",), _set(contained))
        with_reference = _changed(resource, ("contained",), _set(contained))
        with_reference.setdefault("extension", []).append(
            {"url": "http://example.org/x", "valueReference": {"reference": "#m1"}}
        )
        yield "contained", with_reference
    other_type = "Patient" if resource["resourceType"] != "Patient" else "Group"
    yield "unknown element", _changed(resource, ("resourceType",), _set(other_type))
    yield "unknown element", _changed(resource, ("status__ext",), _set({"id": "a"}))
    yield "empty", {"resourceType": resource["resourceType"]}


def _rename(new: str, value: Any) -> Callable[[Any, str | int], None]:
    def change(parent: Any, key: str | int) -> None:
        del parent[key]
        parent[new] = _copy(value) if isinstance(value, (dict, list)) else value

    return change


def _mutation_sample(sample: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to two resources of each type (of middling size and of the largest tenth, up to 2,500 bytes of JSON)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in sample:
        if _model(resource["resourceType"]) is not None and len(dumps(resource)) <= 2500:
            by_type.setdefault(resource["resourceType"], []).append(resource)
    picked: list[dict[str, Any]] = []
    for resources in by_type.values():
        sized = sorted(resources, key=lambda r: len(dumps(r)))
        middling, large = sized[len(sized) // 2], sized[min(len(sized) - 1, len(sized) * 9 // 10)]
        picked.extend([middling] if large is middling else [middling, large])
    return picked


def test_no_mutation_the_models_refuse_is_accepted_by_the_fast_path(sample: list[dict[str, Any]]) -> None:
    accepted: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    wrong: list[tuple[str, dict[str, Any]]] = []
    total = 0
    for resource in _mutation_sample(sample):
        rtype = resource["resourceType"]
        for kind, mutated in _mutations(resource):
            total += 1
            if _fast_accepts(mutated, rtype):
                accepted[kind] += 1
                if not _models_accept_as(mutated, rtype):
                    wrong.append((kind, mutated))
            else:
                refused[kind] += 1
    assert wrong == [], f"{len(wrong)} accepted by the fast path, refused by the models; the first: {wrong[0]}"
    # Teeth: every kind of mutation was tried, many were refused, and many the fast path could still prove valid.
    assert total > 20_000
    kinds = {"primitive", "required", "list vs single", "null", "extension", "choice", "list", "empty",
             "unknown element", "contained"}  # fmt: skip
    assert kinds <= set(refused), set(refused)
    assert sum(refused.values()) > total // 3 and sum(accepted.values()) > total // 10


def _models_accept_as(resource: dict[str, Any], rtype: str) -> bool:
    try:
        _model(rtype).model_validate(resource)
    except (pydantic.ValidationError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return False
    return True


# --- cases that a shallower check would get wrong ---------------------------------------------------------------

OBSERVATION = {
    "resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "Heart rate"},
    "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2020-01-01T08:00:00Z",
    "valueQuantity": {"value": Decimal("60"), "unit": "/min"},
}  # fmt: skip

REFUSED_BY_THE_MODELS: list[tuple[str, dict[str, Any]]] = [
    ("a day February does not have", {**OBSERVATION, "effectiveDateTime": "2020-02-30"}),
    ("a date-time with a time and no zone", {**OBSERVATION, "effectiveDateTime": "2020-01-01T08:00:00"}),
    ("two spaces in a code", {**OBSERVATION, "status": "fi  nal"}),
    ("a number where a string goes", {**OBSERVATION, "code": {"text": 5}}),
    ("a list where one value goes", {**OBSERVATION, "code": [{"text": "x"}]}),
    ("one value where a list goes", {**OBSERVATION, "category": {"text": "x"}}),
    ("two choices of value[x]", {**OBSERVATION, "valueString": "60"}),
    ("a required element missing", {k: v for k, v in OBSERVATION.items() if k != "code"}),
    ("a required primitive missing", {k: v for k, v in OBSERVATION.items() if k != "status"}),
    ("an element of another type", {**OBSERVATION, "valueQuantity": {"text": "x"}}),
    ("an id with a slash", {**OBSERVATION, "id": "a/b"}),
    ("an extension without its url", {**OBSERVATION, "extension": [{"valueString": "a"}]}),
    ("a contained element that is no resource", {**OBSERVATION, "contained": [{"resourceType": "Coding", "code": "a"}]}),
    ("a contained resource with an unknown element",
     {**OBSERVATION, "contained": [{"resourceType": "Medication", "id": "m", "bogus": 1}]}),
    ("a null inside a list", {**OBSERVATION, "category": [None]}),
    ("a negative positiveInt", {**OBSERVATION, "valueQuantity": None, "valueSampledData": {
        "origin": {"value": Decimal(0)}, "period": Decimal(1), "dimensions": -1, "data": "1 2"}}),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED_BY_THE_MODELS, ids=[name for name, _ in REFUSED_BY_THE_MODELS])
def test_known_invalid_shapes_are_refused_by_both(case: tuple[str, dict[str, Any]]) -> None:
    _name, resource = case
    resource = {k: v for k, v in resource.items() if v is not None}
    assert not _models_accept(resource)
    assert not _fast_accepts(resource, "Observation")
    reason = validation_error(resource)
    assert reason is not None


def test_the_same_shapes_made_valid_are_accepted_fast() -> None:
    valid: list[dict[str, Any]] = [
        OBSERVATION,
        {**OBSERVATION, "category": [{"text": "x"}], "extension": [{"url": "http://example.org/x", "valueString": "a"}]},
        {**OBSERVATION, "effectiveDateTime": "2020-02-29", "id": "A-z.0"},
        {**OBSERVATION, "contained": [{"resourceType": "Medication", "id": "m", "code": {"text": "x"}}],
         "focus": [{"reference": "#m"}]},
        {k: v for k, v in OBSERVATION.items() if k != "valueQuantity"},
    ]  # fmt: skip
    for resource in valid:
        assert _models_accept(resource)
        assert _fast_accepts(resource, "Observation"), resource
        before = full_validations()
        assert validation_error(resource) is None
        assert full_validations() == before


def test_remembered_verdicts_stay_bounded() -> None:
    """Every id is new: the verdicts remembered for the id type are forgotten wholesale before they pass the bound,
    and a long string is never kept."""
    patient = _model("Patient")
    for n in range(fastpath._REMEMBER + 500):
        assert accepts(patient, {"resourceType": "Patient", "id": f"p{n}"})
    id_type = fastpath._table(patient).fields["id"].primitive
    assert id_type is not None and 0 < len(id_type.verdicts) <= fastpath._REMEMBER
    name = "x" * (fastpath._LONGEST_REMEMBERED + 1)
    assert accepts(patient, {"resourceType": "Patient", "name": [{"text": name}]})
    assert not any(name in key for primitive in _primitives() for key in primitive.verdicts)


def _primitives() -> list[Any]:
    human_name = fastpath._table(_model("Patient")).fields["name"].model
    return [spec.primitive for spec in fastpath._table(human_name).fields.values() if spec.primitive is not None]


def _nested(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"url": "http://y.example", "valueString": "z"}
    for _ in range(levels):
        inner = {"url": "http://x.example", "extension": [inner]}
    return {**OBSERVATION, "extension": [inner]}


def test_deep_nesting_is_a_doubt_the_models_decide() -> None:
    """The models' validation recurses and fails near 200 levels of nested extensions (a refusal, from the hostile
    corpus); the fast walk would go on, so beyond a depth no real resource reaches it leaves the verdict to them."""
    shallow, deep = _nested(10), _nested(300)
    assert _models_accept(shallow) and _fast_accepts(shallow, "Observation")
    assert not _models_accept(deep)
    assert not _fast_accepts(deep, "Observation") and not _fast_accepts(_nested(60), "Observation")
    assert validation_error(deep) is not None
