"""FHIR rules that the R4B models let through, checked on every resource Carry validates.

The models accept a number too large for any decimal (1e400), a control character inside a string, `null` as a
property's value, a contained resource that holds more contained resources or that nothing refers to, and any
markup in a narrative, a `<script>` included. Each breaks a rule of the FHIR specification, and each is what a
hostile or broken server sends to hurt whatever shows it later. A resource that breaks one is kept and flagged,
with the reason, like any other invalid resource.

The rules, as the R4 specification states them:
- JSON representation: `null` is not a value; it appears only inside an array, to pad a primitive's extensions.
- string: no character below U+0020 except tab, carriage return and line feed.
- decimal: within the range of an IEEE 754 double (some 1.8e308).
- dom-2: a contained resource holds no contained resources; dom-3: each is referred to from the resource
  (directly, or through other contained resources that are) or refers to the resource itself ("#").
- txt-1, txt-2: a narrative is XHTML with the basic formatting elements only (no script, no forms, no objects,
  no event handler attributes) and some non-whitespace content.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..untrusted import plain_text
from .references import local_targets

__all__ = ["rule_error"]

_XHTML = "{http://www.w3.org/1999/xhtml}"
# HTML 4.0 chapters 7-11 (less 9.4, INS and DEL) and 15, with <a> and <img>, as txt-1 allows.
_ELEMENTS = frozenset(
    "a abbr acronym address b bdo big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 h3 h4 "
    "h5 h6 hr i img kbd li ol p pre q s samp small span strike strong sub sup table tbody td tfoot th thead tr tt "
    "u ul var".split()
)
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc"})
_ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_CONTROL = frozenset(chr(c) for c in range(0x20)) - {"\t", "\r", "\n"}


def rule_error(resource: dict[str, Any]) -> str | None:
    """The first rule `resource` breaks, as a one-line reason; None when it breaks none."""
    try:
        found = _scan(resource)
    except RecursionError:
        found = _BROKEN | _DIV  # the walks below say what they say of it (they raise too)
    if found & _BROKEN:
        for reason in _value_errors(resource, ""):
            return reason
    return _contained_error(resource) or (_narratives_error(resource) if found & _DIV else None)


# --- a quick walk first -----------------------------------------------------------------------------------------
# Nearly every resource breaks no rule and has no narrative. One walk that builds no paths tells so (a third of the
# cost of the walks that name where a rule is broken); only when it finds something do those walks run, so the
# reason is theirs, word for word. It tests exactly what _value_errors tests, and _DIV is set for every string
# under a "div" key, of which the narratives _divs finds are a part.

_BROKEN, _DIV = 1, 2


def _scan(node: Any) -> int:
    found = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None:
                return _BROKEN
            if key == "div" and isinstance(value, str):
                found |= _DIV
            found |= _scan(value)
            if found & _BROKEN:
                return found
    elif isinstance(node, list):
        for value in node:
            if value is not None:
                found |= _scan(value)
                if found & _BROKEN:
                    return found
    elif isinstance(node, str):
        if not _CONTROL.isdisjoint(node):
            return _BROKEN
    elif isinstance(node, (int, Decimal)) and not isinstance(node, bool):
        if not _fits_a_double(node):
            return _BROKEN
    return found


# --- values: null, control characters, numbers ----------------------------------------------------------------


def _value_errors(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if value is None:
                yield f"{_where(path)}: null is not a value in FHIR JSON"
            else:
                yield from _value_errors(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if value is not None:  # null pads arrays of primitives whose extensions sit in a parallel array
                yield from _value_errors(value, f"{where}[{index}]")
    elif isinstance(node, str):
        if not _CONTROL.isdisjoint(node):
            bad = next(ch for ch in node if ch in _CONTROL)
            yield f"{_where(where)}: a string holds the control character U+{ord(bad):04X}"
    elif isinstance(node, (int, Decimal)) and not isinstance(node, bool):
        if not _fits_a_double(node):
            yield f"{_where(where)}: the number is outside the range FHIR decimals have"


def _fits_a_double(number: int | Decimal) -> bool:
    try:
        value = float(number)
    except OverflowError:
        return False
    return value not in (float("inf"), float("-inf")) and (value != 0.0 or number == 0)


# --- contained resources (dom-2, dom-3) -----------------------------------------------------------------------


def _contained_error(resource: dict[str, Any]) -> str | None:
    contained = resource.get("contained")
    if not isinstance(contained, list) or not contained:
        return None
    by_id: dict[str, dict[str, Any]] = {}
    for item in contained:
        if not isinstance(item, dict):
            continue  # the model reports it
        if item.get("contained"):
            return "contained: a contained resource holds contained resources of its own (FHIR dom-2)"
        rid = item.get("id")
        if isinstance(rid, str):
            if rid in by_id:
                return f"contained: two contained resources have the id {plain_text(rid, limit=40)!r}"
            by_id[rid] = item
    outside = {key: value for key, value in resource.items() if key != "contained"}
    # Reachable from the resource itself, then through contained resources already reached.
    reached = local_targets(outside) & by_id.keys()
    pending = list(reached)
    while pending:
        for target in local_targets(by_id[pending.pop()]) & by_id.keys():
            if target not in reached:
                reached.add(target)
                pending.append(target)
    for rid, item in by_id.items():
        if rid not in reached and "" not in local_targets(item):
            return (
                f"contained: the contained resource {plain_text(rid, limit=40)!r} is not referred to from the "
                "resource (FHIR dom-3)"
            )
    return None


# --- narratives (txt-1, txt-2) ---------------------------------------------------------------------------------


def _narratives_error(resource: dict[str, Any]) -> str | None:
    for where, div in _divs(resource, ""):
        reason = _narrative_error(div)
        if reason:
            return f"{_where(where)}: {reason}"
    return None


def _divs(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if key == "div" and isinstance(value, str) and (where == "text" or where.endswith(".text")):
                yield path, value
            elif isinstance(value, (dict, list)):
                yield from _divs(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _divs(value, f"{where}[{index}]")


def _narrative_error(div: str) -> str | None:
    if "<!DOCTYPE" in div.upper() or "<!ENTITY" in div.upper():
        return "the narrative declares a document type or entities, which FHIR narratives may not"
    try:
        root = ElementTree.fromstring(div)
    except ElementTree.ParseError:
        return "the narrative is not well-formed XHTML"
    if root.tag != f"{_XHTML}div":
        return "the narrative is not an XHTML <div>"
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        name = tag[len(_XHTML) :] if tag.startswith(_XHTML) else None
        if name not in _ELEMENTS:
            shown = plain_text(name or tag.rsplit("}", 1)[-1] or "?", limit=40)
            return f"the narrative holds a <{shown}> element, which FHIR narratives may not (txt-1)"
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                shown = plain_text(local, limit=40)
                return f"the narrative has an event handler attribute ({shown}), which FHIR narratives may not (txt-1)"
            if local in _URL_ATTRIBUTES and "".join(value.split()).lower().startswith(_ACTIVE_SCHEMES):
                return "the narrative links to a script, which FHIR narratives may not (txt-1)"
    if not "".join(root.itertext()).strip() and root.find(f".//{_XHTML}img") is None:
        return "the narrative is empty (txt-2)"
    return None


def _where(path: str) -> str:
    return plain_text(path or "resource", limit=80)
