"""The same patient from several sources: a demo Bundle imported again with every id rewritten.

Portals never share ids, so a copy with fresh ids (and every reference rewritten to match) is what a second
provider's export of the same history looks like to Carry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from app.record import Record, merge_people, people, proposals

__all__ = ["confirm_one_person", "import_copies", "rewrite_ids"]


def rewrite_ids(bundle: dict[str, Any], salt: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The same Bundle with every resource id (and each reference to it, wherever it is) replaced, deterministically."""
    ids = {entry["resource"]["id"] for entry in bundle["entry"]}
    mapping = {old: str(uuid.UUID(hashlib.sha256(f"{salt}:{old}".encode()).hexdigest()[:32])) for old in ids}
    text = json.dumps(bundle)
    for old in sorted(ids, key=len, reverse=True):
        text = text.replace(old, mapping[old])
    return json.loads(text), mapping


def confirm_one_person(record: Record) -> None:
    """What the patient does once when the same person arrives from several sources: confirm every proposal
    (same name and birth date) that they are one person (issue 12: until then they are kept apart)."""
    while found := proposals(record):
        merge_people(record, found[0].a, found[0].b)
    assert len(people(record)) == 1


def import_copies(
    record: Record, bundle_path: Path, sources: tuple[str, ...] = ("Clinic A", "Clinic B"), *, confirm: bool = True
) -> dict[str, dict[str, str]]:
    """Import the Bundle as the first source, and a rewritten copy as each further one, and confirm they are one
    person (unless `confirm` is False); returns each copy's id map."""
    original = json.loads(bundle_path.read_bytes())
    maps: dict[str, dict[str, str]] = {sources[0]: {rid: rid for rid in (e["resource"]["id"] for e in original["entry"])}}
    record.import_bytes(json.dumps(original).encode(), origin=f"{sources[0]}.json", source=sources[0])
    for name in sources[1:]:
        copy, mapping = rewrite_ids(original, name)
        record.import_bytes(json.dumps(copy).encode(), origin=f"{name}.json", source=name)
        maps[name] = mapping
    if confirm:
        confirm_one_person(record)
    return maps
