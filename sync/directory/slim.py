"""Carry's slim directory format: the fields the app needs, one compact row per provider.

    {"format": "carry-provider-directory", "version": 1, "sources": [{...attribution...}],
     "providers": [[name, fhir_base, vendor, vendor_key, [[city, state, zip], ...], [alias, ...], source, note]]}

Used for the data shipped in assets/directory and for the index Carry builds from downloaded lists, so loading
is one json.loads and no FHIR parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from .errors import ListFormatError
from .places import Place
from .provider import Provider

__all__ = ["SLIM_FORMAT", "SLIM_VERSION", "provider_from_row", "provider_row", "read_slim", "slim_document", "write_slim"]

SLIM_FORMAT = "carry-provider-directory"
SLIM_VERSION = 1


def provider_row(p: Provider) -> list[Any]:
    return [
        p.name,
        p.fhir_base,
        p.vendor,
        p.vendor_key,
        [[pl.city, pl.state, pl.zip] for pl in p.places],
        list(p.aliases),
        p.source,
        p.note,
    ]


def provider_from_row(row: Sequence[Any]) -> Provider:
    """Raises TypeError or ValueError for a malformed row."""
    name, base, vendor, key, places, aliases, source, note = row
    if not isinstance(name, str) or not isinstance(base, str):
        raise TypeError("name and fhir_base must be strings")
    return Provider(
        name, base, str(vendor), str(key), tuple(Place(c, s, z) for c, s, z in places), tuple(aliases), source, note
    )


def slim_document(providers: Iterable[Provider], *, sources: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {
        "format": SLIM_FORMAT,
        "version": SLIM_VERSION,
        "sources": [dict(s) for s in sources],
        "providers": [provider_row(p) for p in providers],
    }


def write_slim(
    path: Path,
    providers: Iterable[Provider],
    *,
    sources: Iterable[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Written beside and then renamed over the old file, so a reader never sees half of it.

    `extra` adds top-level members (the index adds its precomputed search columns).
    """
    document = slim_document(providers, sources=sources)
    rows = document.pop("providers")
    head = json.dumps(document, ensure_ascii=False, indent=1)[:-2]  # drop the closing "\n}"
    members = "".join(f",\n {json.dumps(k)}: {_compact(v)}" for k, v in (extra or {}).items())
    # One provider per line: compact to load, and a refresh or a rebuild of the shipped file diffs line by line.
    lines = ",\n".join(_compact(row) for row in rows)
    write_atomic(path, f'{head}{members},\n "providers": [\n{lines}\n ]\n}}\n'.encode())


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_slim(document: Mapping[str, Any], label: str = "The directory file") -> list[Provider]:
    if document.get("format") != SLIM_FORMAT or document.get("version") != SLIM_VERSION:
        raise ListFormatError(f"{label} is not a Carry provider directory of version {SLIM_VERSION}.")
    rows = document.get("providers")
    if not isinstance(rows, list):
        raise ListFormatError(f"{label} has no list of providers.")
    try:
        return [provider_from_row(row) for row in rows]
    except (TypeError, ValueError):
        raise ListFormatError(f"{label} has a malformed provider row.") from None
