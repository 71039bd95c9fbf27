"""A resource's JSON is stored packed (app.record.packed): not as text in the file's pages, read back exactly, and the
record takes far less room than the JSON it was given. A big import is followed by a rewrite of the file (VACUUM),
which packs what the import left a third empty; a small one is not."""

from __future__ import annotations

import base64
import io
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.apple_health import Sample, write_export
from support.records import PASSPHRASE

from app.record import Record, store
from app.record.imports import import_path
from app.record.packed import DICTIONARY_1, FORMAT_DEFLATE_1, FORMAT_DEFLATE_2, kept_inflated, pack, unpack

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
        assert isinstance(stored, bytes) and stored[:1] == bytes((FORMAT_DEFLATE_2,))
        assert b"Glucose" not in stored and "Glykämie".encode() not in stored and len(stored) < len(RESULT.encode())
        got = record.get("Observation", "gluc-1")
        assert got is not None and got.raw == RESULT  # the very text, down to "5.10"
        assert record.read("SELECT json_extract(resource_json(raw, type, id), '$.code.text') FROM resource") == [
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
    assert unpack(pack(RESULT, "Observation", "gluc-1"), "Observation", "gluc-1") == RESULT
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
    # 100,000); with its type and id kept once, a slimmer index of the kept members and the rewrite after a big
    # import (schema 20), 1.41 at 10,000 and 1.35 at 100,000 (tests/benchmarks/test_size_benchmark.py).
    data = _clones(demo_dir, 2000)
    path = tmp_path / "r.carry"
    with Record.create(path, PASSPHRASE) as record:
        assert record.import_bytes(data, origin="clones.ndjson").counts.imported == 2000
    size = sum(p.stat().st_size for p in tmp_path.glob("r.carry*"))
    assert size < 2.0 * len(data), (size, len(data))


def test_a_resource_s_type_and_id_are_kept_once_in_their_columns_and_written_back_when_read(tmp_path: Path) -> None:
    # Its head is left out of the packed JSON (FORMAT_DEFLATE_2): what the JSON repeats of the row is not kept twice.
    assert len(pack(RESULT, "Observation", "gluc-1")) < len(pack(RESULT)) - 4
    twin = RESULT.replace('"id":"gluc-1"', '"id":"gluc-2"')
    assert pack(RESULT, "Observation", "gluc-1") == pack(twin, "Observation", "gluc-2")  # the rest is the same
    # A JSON that does not start with exactly that head is kept whole, as before.
    id_first = '{"id":"gluc-3","resourceType":"Observation","status":"final"}'
    spaced = '{"resourceType": "Observation", "id": "gluc-4", "status": "final"}'
    other_id = RESULT.replace('"id":"gluc-1"', '"id":"gluc-5"')
    for text, rid in ((id_first, "gluc-3"), (spaced, "gluc-4"), (other_id, "gluc-1")):
        assert pack(text, "Observation", rid)[:1] == bytes((FORMAT_DEFLATE_1,))
        assert unpack(pack(text, "Observation", rid), "Observation", rid) == text
    # An id beyond what FHIR allows is written back as JSON writes it (escaped), and only kept apart when so written.
    for rid, written in (("a/b", '"a/b"'), ("é\"1", '"\\u00e9\\"1"'), ("é", '"é"')):
        text = f'{{"resourceType":"Basic","id":{written},"code":{{"text":"x"}}}}'
        packed = pack(text, "Basic", rid)
        assert packed[:1] == bytes((FORMAT_DEFLATE_2 if written != '"é"' else FORMAT_DEFLATE_1,)), rid
        assert unpack(packed, "Basic", rid) == text and json.loads(text)["id"] == rid
    with pytest.raises(ValueError, match="without its type and id"):
        unpack(pack(RESULT, "Observation", "gluc-1"))
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        given = [RESULT, twin, id_first]  # (an import keeps the JSON compact: no spaces reach the record)
        record.import_bytes("\n".join(given).encode() + b"\n", origin="three.ndjson")
        forms = dict(record._query("SELECT id, substr(raw, 1, 1) FROM resource"))
        assert forms == {"gluc-1": b"\x02", "gluc-2": b"\x02", "gluc-3": b"\x01"}
        assert all(b"gluc" not in raw for (raw,) in record._query("SELECT raw FROM resource WHERE id IN ('gluc-1', 'gluc-2')"))
        # Every reader gets the very text back: in Python, in SQL, in an export.
        for text, rid in zip(given, ("gluc-1", "gluc-2", "gluc-3")):
            got = record.get("Observation", rid)
            assert got is not None and got.raw == text
        assert sorted(record.read("SELECT resource_json(raw, type, id) FROM resource")) == sorted((t,) for t in given)
        assert record.read("SELECT json_extract(resource_json(r.raw, r.type, r.id), '$.id') FROM resource r ORDER BY r.rowid") == [
            ("gluc-1",), ("gluc-2",), ("gluc-3",)
        ]
        out = io.BytesIO()
        assert record.export(out, ndjson=True) == 3
        assert sorted(out.getvalue().splitlines()) == sorted(t.encode() for t in given)


def test_big_twins_kept_inflated_are_each_read_with_their_own_id(tmp_path: Path) -> None:
    # Two big documents alike but for their id pack to the same bytes: the one kept inflated must not answer for both.
    data = base64.b64encode(os.urandom(15000)).decode()
    letters = [
        {"resourceType": "DocumentReference", "id": f"letter-{n}", "status": "current",
         "content": [{"attachment": {"contentType": "image/png", "data": data}}]}
        for n in (1, 2)
    ]  # fmt: skip
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        record.import_bytes(b"\n".join(json.dumps(d, separators=(",", ":")).encode() for d in letters), origin="two.ndjson")
        assert record.read("SELECT count(DISTINCT raw), min(length(raw)) > 8192 FROM resource") == [(1, 1)]
        for _ in range(2):
            for letter in letters:
                got = record.get("DocumentReference", str(letter["id"]))
                assert got is not None and json.loads(got.raw) == letter


def _on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def test_a_big_import_leaves_the_record_rewritten_and_a_small_one_does_not(
    tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same 2,000 resources imported into two records: one where an import of this size is small (the usual
    # threshold, 8 MiB), one where it is big (1 MiB).
    data = _clones(demo_dir, 2000)
    got: dict[str, tuple[int, bytes]] = {}
    for name, threshold in (("kept", store._REWRITE_FROM_BYTES), ("rewritten", 1024 * 1024)):
        monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", threshold)
        path = tmp_path / f"{name}.carry"
        with Record.create(path, PASSPHRASE) as record:
            cookie = record._query("PRAGMA schema_version")[0][0]
            assert record.import_bytes(data, origin="clones.ndjson").counts.imported == 2000
            if record._rewriting is not None:  # the rewrite runs on a thread of its own
                record._rewriting.join()
            rewritten = record._query("PRAGMA schema_version")[0][0] != cookie  # a VACUUM moves the schema cookie
            assert rewritten == (name == "rewritten")
            if rewritten:  # the WAL that held the new copy is folded into the file and emptied at once
                assert Path(f"{path}-wal").stat().st_size == 0
            # A small import after it (far below a quarter of the record) is not followed by a rewrite.
            cookie = record._query("PRAGMA schema_version")[0][0]
            was = record._rewriting
            record.import_bytes(_clones(demo_dir, 20).replace(b'"id":"', b'"id":"few-'), origin="few.ndjson")
            assert record._rewriting is was and record._query("PRAGMA schema_version")[0][0] == cookie
            assert record.count() == 2020
            out = io.BytesIO()
            record.export(out, ndjson=True)
            got[name] = (_on_disk(path), out.getvalue())
    assert got["rewritten"][1] == got["kept"][1]  # the same resources, byte for byte
    assert got["rewritten"][0] < 0.97 * got["kept"][0], got  # in less room


def test_a_record_locked_while_it_is_rewritten_after_an_import_is_whole(
    tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", 256 * 1024)
    path = tmp_path / "r.carry"
    record = Record.create(path, PASSPHRASE)
    assert record.import_bytes(_clones(demo_dir, 600), origin="clones.ndjson").counts.imported == 600
    rewriting = record._rewriting
    assert rewriting is not None
    record.close()  # at once: a rewrite under way is let finish, one not begun yet is not done
    rewriting.join(timeout=30)
    assert not rewriting.is_alive() and not Path(f"{path}-wal").exists()
    with Record.open(path, PASSPHRASE) as again:
        assert again.count() == 600
        assert again.read("PRAGMA integrity_check") == [("ok",)]


def test_a_big_file_of_another_kind_leaves_the_record_rewritten_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An Apple Health export (its own importer, not the FHIR reader): a year of daily step counts.
    monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", 128 * 1024)
    start = datetime(2024, 1, 1, 8, 0, tzinfo=timezone.utc)
    export = write_export(tmp_path / "export.xml", [
        Sample("HKQuantityTypeIdentifierStepCount", start + timedelta(days=n), str(4000 + n), "count") for n in range(365)
    ])  # fmt: skip
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        cookie = record._query("PRAGMA schema_version")[0][0]
        assert import_path(record, export).counts.imported > 0
        assert record._rewriting is not None
        record._rewriting.join()
        assert record._query("PRAGMA schema_version")[0][0] != cookie  # rewritten (a VACUUM moves the schema cookie)
