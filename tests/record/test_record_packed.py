"""A resource's JSON is stored packed (app.record.packed): not as text in the file's pages, read back exactly, and the
record takes far less room than the JSON it was given."""

from __future__ import annotations

import base64
import io
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record
from app.record.packed import DICTIONARY_1, FORMAT_DEFLATE_1, kept_inflated, pack, unpack

# As a portal may send it: compact, keys in its own order, a decimal's trailing zero, words beyond ASCII.
RESULT = (
    '{"resourceType":"Observation","id":"gluc-1","status":"final","code":{"coding":[{"system":"http://loinc.org",'
    '"code":"2345-7","display":"Glucose"}],"text":"Glykämie à jeun – 空腹血糖"},"subject":{"reference":"Patient/p1"},'
    '"effectiveDateTime":"2025-03-01T07:30:00+01:00","valueQuantity":{"value":5.10,"unit":"mmol/L",'
    '"system":"http://unitsofmeasure.org","code":"mmol/L"}}'
)


def test_a_resource_is_stored_packed_and_read_back_exactly(tmp_path: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        record.import_bytes(RESULT.encode() + b"\n", origin="one.ndjson")
        [(stored,)] = record._query("SELECT raw FROM resource WHERE id = 'gluc-1'")
        assert isinstance(stored, bytes) and stored[:1] == bytes((FORMAT_DEFLATE_1,))
        assert b"Glucose" not in stored and "Glykämie".encode() not in stored and len(stored) < len(RESULT.encode())
        got = record.get("Observation", "gluc-1")
        assert got is not None and got.raw == RESULT  # the very text, down to "5.10"
        assert record.read("SELECT json_extract(resource_json(raw), '$.code.text') FROM resource") == [
            ("Glykämie à jeun – 空腹血糖",)
        ]
        out = io.BytesIO()
        assert record.export(out, ndjson=True) == 1
        assert out.getvalue() == RESULT.encode() + b"\n"


def test_packing_gives_back_every_byte_and_refuses_a_format_it_does_not_know() -> None:
    for text in (RESULT, "{}", '{"resourceType":"Basic","id":"' + "x" * 20000 + '"}'):
        assert unpack(pack(text)) == text
        assert unpack(pack(text.encode())) == text
    assert unpack(RESULT) == RESULT  # text, as records stored it before version 18
    for unknown in (b"", b"\x07abc", b'{"resourceType":"Basic"}'):
        with pytest.raises(ValueError, match="unknown format"):
            unpack(unknown)


def test_each_resource_is_packed_as_a_new_compressor_with_the_dictionary_would_and_threads_do_not_mix() -> None:
    # pack copies one compressor that has read the dictionary already: the bytes must be a fresh one's, row after
    # row (a copy that kept what the previous row left would not be), and threads packing at once each get theirs.
    texts = [RESULT, RESULT.replace("gluc-1", "gluc-2"), "{}", '{"resourceType":"Basic","id":"' + "y" * 70000 + '"}']
    for text in texts * 2:
        fresh = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=DICTIONARY_1)
        assert pack(text) == bytes((FORMAT_DEFLATE_1,)) + fresh.compress(text.encode()) + fresh.flush()
    many = [RESULT.replace("gluc-1", f"gluc-{n}") for n in range(400)]
    with ThreadPoolExecutor(4) as pool:
        packed = list(pool.map(pack, many))
    assert [unpack(p) for p in packed] == many


def test_big_resources_kept_inflated_are_forgotten_when_the_record_is_locked(tmp_path: Path) -> None:
    # A scanned letter as a document: its data does not deflate much, so it stays big packed.
    letter = {
        "resourceType": "DocumentReference", "id": "letter-1", "status": "current",
        "content": [{"attachment": {"contentType": "image/png", "data": base64.b64encode(os.urandom(15000)).decode()}}],
    }  # fmt: skip
    record = Record.create(tmp_path / "r.carry", PASSPHRASE)
    record.import_bytes(json.dumps(letter).encode(), origin="letter.json")
    assert record.read("SELECT length(raw) > 8192 FROM resource WHERE id = 'letter-1'") == [(1,)]
    first, again = record.get("DocumentReference", "letter-1"), record.get("DocumentReference", "letter-1")
    assert first is not None and again is not None and json.loads(first.raw) == json.loads(again.raw) == letter
    assert kept_inflated() >= 1
    record.close()
    assert kept_inflated() == 0


def _clones(demo_dir: Path, size: int) -> bytes:
    """`size` resources as NDJSON: the demo patients' resources again and again, each copy with an id of its own."""
    templates = [
        entry["resource"]
        for path in sorted(demo_dir.glob("*.json"))
        for entry in json.loads(path.read_bytes())["entry"]
        if entry["resource"]["resourceType"] != "Patient"
    ]
    lines: list[bytes] = []
    copy = 0
    while len(lines) < size:
        for template in templates[: size - len(lines)]:
            lines.append(json.dumps({**template, "id": f"{template['id']}-{copy}-{len(lines)}"}, separators=(",", ":")).encode())
        copy += 1
    return b"\n".join(lines) + b"\n"


def test_a_record_of_2000_resources_takes_less_than_twice_their_json(tmp_path: Path, demo_dir: Path) -> None:
    # Stored as text (before version 18) such a record took 2.8 times its input; packed, 1.8 (1.55 at 10,000, 1.50 at
    # 100,000).
    data = _clones(demo_dir, 2000)
    path = tmp_path / "r.carry"
    with Record.create(path, PASSPHRASE) as record:
        assert record.import_bytes(data, origin="clones.ndjson").counts.imported == 2000
    size = sum(p.stat().st_size for p in tmp_path.glob("r.carry*"))
    assert size < 2.0 * len(data), (size, len(data))
