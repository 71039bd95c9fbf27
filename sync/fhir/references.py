"""FHIR references: finding them in a resource, reading their target, spotting the ones a store must resolve.

A Reference is any JSON object with a string `reference` (R4 §2.3.0): a literal `Type/id` (relative, or absolute
under a server's base, perhaps with `/_history/v`), a local `#id` to a contained resource, a `urn:uuid:` inside a
Bundle, or a conditional `Type?query` that a transaction resolves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

__all__ = [
    "conditional",
    "has_conditional",
    "literal_key",
    "literal_pattern",
    "literal_references",
    "local_targets",
    "references",
    "rewrite",
]

# Ids are at most 64 characters in FHIR, but real servers (Epic) send longer ones; resolve them all the same.
_LITERAL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,256})(?:/_history/[^/]+)?$")
_CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?(.+)$")
_CONDITIONAL_RAW = re.compile(rb'"reference"\s*:\s*"[A-Z][A-Za-z]+\?')


def references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference in `node` (a resource or any part of one, contained resources included), depth first in
    document order. Changing a yielded Reference's `reference` while iterating is safe."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("reference"), str):
                yield current
            stack.extend(reversed([v for v in current.values() if isinstance(v, (dict, list))]))
        elif isinstance(current, list):
            stack.extend(reversed([v for v in current if isinstance(v, (dict, list))]))


def literal_key(reference: Any) -> tuple[str, str] | None:
    """(type, id) of a literal reference, relative or absolute, a version dropped; None for anything else."""
    if not isinstance(reference, str):
        return None
    match = _LITERAL.search(reference)
    return (match.group(1), match.group(2)) if match else None


def literal_references(node: Any) -> Iterator[tuple[str, str]]:
    """(type, id) of every literal reference in `node`."""
    for found in references(node):
        key = literal_key(found["reference"])
        if key is not None:
            yield key


def local_targets(node: Any) -> set[str]:
    """Ids of contained resources that `node` refers to ("#id"), "" for a reference to the container ("#")."""
    return {found["reference"][1:] for found in references(node) if found["reference"].startswith("#")}


def rewrite(node: Any, target: Callable[[str], str | None]) -> None:
    """Point every reference in `node` where `target` says (None: leave it as it is)."""
    for found in references(node):
        new = target(found["reference"])
        if new is not None:
            found["reference"] = new


def conditional(reference: str) -> tuple[str, str] | None:
    """(type, query) of a conditional reference ("Patient?identifier=…"), else None."""
    match = _CONDITIONAL.match(reference)
    return (match.group(1), match.group(2)) if match else None


def has_conditional(raw: bytes) -> bool:
    """Whether raw JSON holds a conditional reference (which only a store can resolve), without parsing it."""
    return _CONDITIONAL_RAW.search(raw) is not None


def literal_pattern(types: Collection[str]) -> re.Pattern[bytes]:
    """A pattern over raw JSON for relative literal references to these types only ("Practitioner/123"), with
    the type and the id as its groups, so a page's other references cost nothing; matches nothing for no types."""
    names = b"|".join(re.escape(t.encode()) for t in sorted(types)) or b"(?!)"
    return re.compile(rb'"reference"\s*:\s*"(' + names + rb')/([A-Za-z0-9\-.]{1,200})"')
