"""A result's address: its parts (kind, code system, code) come back as they went in, whatever they hold."""

from __future__ import annotations

import pytest

from app.ui.paths import result_key, result_parts, result_path


@pytest.mark.parametrize(
    "parts",
    [
        ("laboratory", "http://loinc.org", "4548-4"),
        ("other", None, "Tobacco smoking status ~ never / 100% sure?"),  # an uncoded result: its display
        ("vital-signs", "urn:oid:2.16.840.1.113883.6.1", "a~b~c"),
    ],
)
def test_a_result_key_is_one_path_segment_and_reads_back(parts: tuple[str | None, ...]) -> None:
    key = result_key(*parts)
    assert "/" not in key and "?" not in key and "#" not in key and " " not in key
    assert result_path(key) == f"/results/{key}"
    assert result_parts(key) == ["" if p is None else p for p in parts]
