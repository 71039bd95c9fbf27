"""A quick proof that a resource is valid, so the R4B models need not build it: parse.py's helper.

Validating with fhir.resources builds a model object for every element of a resource and runs fhir_core's Python
validators on each (about 70 us for a small Observation, most of a sync's validation time). Nearly every resource a
portal sends is valid and uses a handful of element shapes, so `accepts(model, resource)` walks the JSON once
against tables taken from the models themselves and answers True only when it can show that the models would
accept the resource:

- every key is the JSON name of one of the model's fields (or the resource's own resourceType), and no object or
  list is empty and no value is null;
- a list where the field is a list and a single value where it is not; an object where the field is an element
  or a resource, walked with that model's table (a contained resource by its resourceType, as fhir_core does);
- a primitive value passes the field's own pydantic validator (fhir_core's type, its regex and its date and number
  checks), asked once per distinct value and type and remembered;
- the required fields are present and no choice (value[x]) has two types, as the models' after-validators demand.

Anything else (a key it does not know, a model with validators of its own, a type it cannot classify, a value
that fails) is a doubt, and a doubt is False: the caller then validates with the models, so what is invalid gets
fhir.resources' own verdict and message. The tables are built from the models' fields once per model and cached.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pydantic
from fhir_core.constraints import FHIR_TYPES_MAPS
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase

__all__ = ["accepts", "prepare"]

_PRIMITIVE, _ELEMENT, _RESOURCE = 0, 1, 2
_SCALARS = frozenset({str, bool, int, Decimal})
# Remembered verdicts on primitive values, per type; forgotten wholesale past this many (ids and instants rarely
# repeat, codes and systems always do), so a million-resource import keeps a few MB of them per type at most.
_REMEMBER = 20_000
_LONGEST_REMEMBERED = 100  # characters: longer strings are judged each time they are met

# What every model's validation runs, and the configuration they share: a model with more is never fast-accepted.
_BASE_VALIDATORS = frozenset(FHIRAbstractModel.__pydantic_decorators__.model_validators)
_BASE_CONFIG = dict(FHIRAbstractModel.model_config)


class _Primitive:
    """One FHIR primitive type's validator (the field's own annotation), with the verdicts it gave."""

    __slots__ = ("adapter", "verdicts")

    def __init__(self, annotation: Any) -> None:
        self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
        self.verdicts: dict[tuple[type, Any], bool] = {}

    def accepts(self, value: Any) -> bool:
        kind = type(value)
        if kind not in _SCALARS:
            return False
        if kind is str and len(value) > _LONGEST_REMEMBERED:
            return self._judge(value)  # a narrative or an attachment's data: not kept in memory for a second look
        # The type is part of the key: True == 1 and Decimal("1.0") == 1, but they are different JSON.
        key = (kind, str(value) if kind is Decimal else value)
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self._judge(value)
            if len(self.verdicts) >= _REMEMBER:
                self.verdicts.clear()
            self.verdicts[key] = verdict
        return verdict

    def _judge(self, value: Any) -> bool:
        try:
            self.adapter.validate_python(value)
        except Exception:  # noqa: BLE001 - whatever stops the type's validator (fhir_core's own bugs too) is a doubt
            return False
        return True


@dataclass(slots=True)
class _Field:
    many: bool
    kind: int
    primitive: _Primitive | None = None
    model: Any = None  # the element's model class (_ELEMENT), or the prefix of fhir_core's type names (_RESOURCE)


@dataclass(slots=True)
class _Table:
    fields: dict[str, _Field] = field(default_factory=dict)  # JSON name -> what it holds
    required: tuple[str, ...] = ()
    choices: tuple[tuple[frozenset[str], bool], ...] = ()  # the JSON names of one value[x], and whether it is required
    resource_type: str | None = None
    usable: bool = True


def accepts(model: Any, resource: dict[str, Any]) -> bool:
    """True only when `model` (an R4B resource class) is sure to accept `resource`; False when in doubt."""
    try:
        return _accepts(_table(model), resource)
    except RecursionError:
        return False


def prepare(model: Any) -> None:
    """Build the tables of `model` and of every element it can hold (a worker does it before its first chunk)."""
    pending, seen = [model], {model}
    while pending:
        for spec in _table(pending.pop()).fields.values():
            if spec.kind == _ELEMENT and spec.model not in seen:
                seen.add(spec.model)
                pending.append(spec.model)


# Elements nested deeper than this are a doubt: the models' own validation recurses about five Python frames a level
# and fails near 200 levels (RecursionError, a refusal), where this walk would still accept. No real resource nests
# this deep (a contained resource's extension's extension is a handful).
_DEEPEST = 48


def _accepts(table: _Table, node: dict[str, Any], depth: int = 0) -> bool:
    if not table.usable or not node or depth > _DEEPEST:
        return False
    fields = table.fields
    for key, value in node.items():
        spec = fields.get(key)
        if spec is None:
            if key == "resourceType" and table.resource_type is not None and value == table.resource_type:
                continue
            return False
        if spec.many:
            if type(value) is not list or not value:
                return False
            for item in value:
                if not _holds(spec, item, depth):
                    return False
        elif not _holds(spec, value, depth):
            return False
    for name in table.required:
        if name not in node:
            return False
    for names, required in table.choices:
        present = len(names.intersection(node))
        if present > 1 or (required and present == 0):
            return False
    return True


def _holds(spec: _Field, value: Any, depth: int) -> bool:
    if spec.kind == _PRIMITIVE:
        assert spec.primitive is not None
        return spec.primitive.accepts(value)
    if type(value) is not dict:
        return False
    if spec.kind == _ELEMENT:
        return _accepts(_table(spec.model), value, depth + 1)
    rtype = value.get("resourceType")
    if type(rtype) is not str:
        return False
    contained = _resource_model(spec.model, rtype)
    return contained is not None and _accepts(_table(contained), value, depth + 1)


# --- the tables, from the models' fields ------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _table(model: Any) -> _Table:
    if (
        not (inspect.isclass(model) and issubclass(model, FHIRAbstractModel))
        or frozenset(model.__pydantic_decorators__.model_validators) != _BASE_VALIDATORS
        or model.__pydantic_decorators__.field_validators
        or model.__init__ is not FHIRAbstractModel.__init__
        or dict(model.model_config) != _BASE_CONFIG
    ):
        return _Table(usable=False)
    table = _Table(resource_type=model.__resource_type__ if model.has_resource_base() else None)
    required: set[str] = set()
    choices: dict[str, tuple[set[str], bool]] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if not extra.get("element_property") and not name.endswith("__ext"):
            continue  # fhir_comments and the like: not FHIR elements, a doubt when met
        spec = _field(info.annotation)
        if spec is None or info.metadata:
            continue  # a shape this walk does not know: a doubt when met
        table.fields[alias] = spec
        if info.is_required() or extra.get("element_required"):
            required.add(alias)
        prefix = extra.get("one_of_many")
        if isinstance(prefix, str):
            names, must = choices.setdefault(prefix, (set(), False))
            names.add(alias)
            choices[prefix] = (names, must or extra.get("one_of_many_required") is True)
    # The models' own lists of required primitives and of choices, read as their after-validators read them (from an
    # instance made without validation: they are instance methods).
    blank = model.model_construct()
    for element, _ext in blank.get_required_fields():
        if element not in table.fields or element not in model.get_alias_mapping():
            return _Table(usable=False)
        required.add(element)
    for prefix, fields in blank.get_one_of_many_fields().items():
        if prefix not in choices or choices[prefix][0] != {model.model_fields[name].alias or name for name in fields}:
            return _Table(usable=False)
    names = set(model.model_fields)
    if any(alias in names and model.model_fields[alias].alias not in (None, alias) for alias in table.fields):
        return _Table(usable=False)  # a JSON name that is also another field's Python name: pydantic would choose
    table.required = tuple(sorted(required))
    table.choices = tuple((frozenset(names), must) for names, must in choices.values())
    return table


def _field(annotation: Any) -> _Field | None:
    inner = _without_none(annotation)
    many = typing.get_origin(inner) is list
    if many:
        (item,) = typing.get_args(inner)
        inner = _without_none(item)
    if inner is None:
        return None
    if inspect.isclass(inner) and issubclass(inner, FhirElementOrResourceBase):
        if inner.get_model_klass().__name__ != "Resource":
            return None
        return _Field(many, _RESOURCE, model=getattr(inner, "_prefix", ""))
    if inspect.isclass(inner) and issubclass(inner, FhirBase):
        return _Field(many, _ELEMENT, model=inner.get_model_klass())
    if typing.get_origin(inner) is typing.Annotated or inner is bool:  # fhir_core's boolean is a plain bool
        return _Field(many, _PRIMITIVE, primitive=_primitive(inner))
    return None


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return annotation


@lru_cache(maxsize=None)
def _primitive(annotation: Any) -> _Primitive:
    return _Primitive(annotation)


@lru_cache(maxsize=None)
def _resource_model(prefix: str, rtype: str) -> Any:
    """The model fhir_core picks for a contained resource of this type (None when it would refuse it)."""
    dotted = FHIR_TYPES_MAPS.get(f"{prefix}{rtype}Type")
    if dotted is None:
        return None
    module, _, name = dotted.rpartition(".")
    try:
        model = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    if not (inspect.isclass(model) and issubclass(model, FHIRAbstractModel) and model.has_resource_base()):
        return None
    return model if model.__resource_type__ == rtype else None
