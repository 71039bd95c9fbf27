"""Ids that importers make from content stay what they were: a newer export (or the same file again) must find
what an older Carry stored, so stable_id is the RFC 4122 version-5 UUID of its parts, byte for byte."""

from __future__ import annotations

import uuid

from sync.importers.base import stable_id

_NAMESPACE = uuid.UUID("0b7f3c1e-2f7a-4c55-9a55-7f2b8c3d1e90")


def test_stable_ids_are_the_version_5_uuids_of_their_parts() -> None:
    cases = [
        ("apple-health", "85354-9", "Omron", "2024-03-01T11:20:00-08:00", "2024-03-01T11:20:00-08:00", "129", "74"),
        ("document", "0" * 64),
        ("ccda", "ab", "Observation", "3"),
        ("",),
        ("Zürich Blutdruck ♥", "日本語", "\x1f", "ﬀ\U0001f600"),
    ]
    for parts in cases:
        made = stable_id(*parts)
        assert made == str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))
        assert uuid.UUID(made).version == 5 and uuid.UUID(made).variant == uuid.RFC_4122
    # Written down once, so that a change to both sides of the comparison above is still caught.
    assert stable_id("document", "0" * 64) == "9a6d0409-ba3e-5862-8553-be8c237fc00a"
