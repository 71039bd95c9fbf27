"""Reading FHIR files as a stream (sync/fhir/stream.py): the same resources as taking the whole document apart,
references resolved forwards and backwards, every per-resource check kept, entries cut across read blocks, and a
file broken late refused with the record unchanged."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from support.records import PASSPHRASE

from app.record import ImportRefused, Record
from sync.assets import DEMO_PATIENTS
from sync.fhir import FHIRFormatError, parse_document
from sync.fhir.stream import read_stream


def _streamed(data: bytes, **kwargs: Any) -> list[Any]:
    return list(read_stream(io.BytesIO(data), **kwargs))


def _keys(resources: list[Any]) -> set[tuple[str, str, str]]:
    return {(r.resource_type, r.id, r.hash) for r in resources}


def _obs(rid: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": {"text": "Glucose"}, **fields}


@pytest.mark.parametrize("path", sorted(DEMO_PATIENTS.glob("*.json"))[:3], ids=lambda p: p.name[:20])
def test_a_bundle_streamed_is_the_bundle_taken_apart_whole(path: Path) -> None:
    data = path.read_bytes()
    whole = parse_document(data, validate=False).resources
    assert _keys(_streamed(data)) == _keys(whole)
    # Minified on one line, too (a Bundle read a resource at a time whatever its layout).
    assert _keys(_streamed(json.dumps(json.loads(data)).encode())) == _keys(whole)


def test_entries_cut_across_read_blocks_and_strings_full_of_brackets() -> None:
    tricky = 'a "quoted" {brace} [bracket] \\ back\\slash ' * 2000  # ~90 kB a string: many blocks of 1 MiB cut one
    entries = [{"resource": _obs(f"o{n}", note=[{"text": tricky[n % 7 :]}])} for n in range(40)]
    data = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()
    assert len(data) > 3 * 1024 * 1024
    streamed = _streamed(data)
    assert [r.id for r in streamed] == [f"o{n}" for n in range(40)]
    assert _keys(streamed) == _keys(parse_document(data, validate=False).resources)


def test_references_to_entries_before_and_after_are_resolved() -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:obs-1", "resource": _obs("", subject={"reference": "urn:uuid:pat-1"},
                                                       performer=[{"reference": "Practitioner?identifier=npi|42"}])},
        {"fullUrl": "urn:uuid:pat-1", "resource": {"resourceType": "Patient"}},
        {"fullUrl": "urn:uuid:obs-2", "resource": _obs("o2", subject={"reference": "urn:uuid:pat-1"})},
        {"resource": {"resourceType": "Practitioner", "id": "dr", "identifier": [{"system": "npi", "value": "42"}]}},
    ]}  # fmt: skip
    data = json.dumps(bundle).encode()
    streamed = {r.id: r.data for r in _streamed(data)}
    assert streamed["obs-1"]["subject"] == {"reference": "Patient/pat-1"}  # forwards: held to the Bundle's end
    assert streamed["obs-1"]["performer"] == [{"reference": "Practitioner/dr"}]
    assert streamed["o2"]["subject"] == {"reference": "Patient/pat-1"}
    assert _keys(_streamed(data)) == _keys(parse_document(data, validate=False).resources)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"resourceType":"Bundle","type":"collection","type":"batch","entry":[]}', "appears twice"),
        (b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a","id":"b"}}]}',
         "Bundle entry 1: the key 'id' appears twice"),
        (b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]} x', "trailing characters"),
        (b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}},]}', "not valid JSON"),
        (b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}', "ends"),
        (b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Nope"}}]}', "which FHIR R4 does not have"),
        (b'{"resourceType":"Bundle","entry":[{"fullUrl":"x"}]}', "Bundle entry 1 has no resource"),
        (b'{"resourceType":"Bundle","entry":{"resource":{}}}', "the Bundle's entry is not a list"),
        (b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b","id":"c"}\n', "line 2: the key"),
        (b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Pat', "line 2"),
        (b'{"resourceType":"Bundle","entry":[' + b"[" * 5000 + b"]" * 5000 + b"]}", "Bundle entry 1"),
    ],
    ids=["bundle key twice", "entry key twice", "trailing", "trailing comma", "truncated", "unknown type",
         "no resource", "entry not a list", "ndjson key twice", "ndjson truncated", "too deep"],
)  # fmt: skip
def test_what_a_whole_document_would_be_refused_for_is_refused_per_resource(data: bytes, reason: str) -> None:
    with pytest.raises(FHIRFormatError, match=reason.replace("(", r"\(")):
        _streamed(data)


# A key twice, in each layout the quick check (parse._keys_seen_once: the text is what msgspec writes again) sees:
# compact, pretty, spaced, nested, escaped (the same key written two ways), after a BOM, with numbers written as
# msgspec would not. Every one is refused; the same resource without the second key is read.
_TWICE = [
    b'{"resourceType":"Patient","id":"a","gender":"male","gender":"female"}',
    b'{\n  "resourceType" : "Patient",\n  "id" : "a",\n  "gender" : "male",\n  "gender" : "female"\n}',
    b'{"resourceType":"Patient","id":"a","name":[{"family":"X","given":["Y"],"family":"Z"}]}',
    b'{"resourceType":"Patient","id":"a","gender":"male","\\u0067ender":"female"}',
    b'\xef\xbb\xbf{"resourceType":"Patient","id":"a","gender":"male","gender":"male"}',
    b'{"resourceType":"Observation","id":"a","status":"final","code":{"text":"\\u00e9\\/x"},'
    b'"valueQuantity":{"value":1e2,"value":1.0}}',
]


@pytest.mark.parametrize("data", _TWICE, ids=["compact", "pretty", "nested", "escaped", "bom", "numbers"])
def test_a_key_twice_is_refused_in_every_layout(data: bytes) -> None:
    as_line = b'{"resourceType":"Patient","id":"first"}\n' + data.removeprefix(b"\xef\xbb\xbf").replace(b"\n", b"")
    for read in (lambda d: parse_document(d, validate=False), _streamed, lambda _d: _streamed(as_line)):
        with pytest.raises(FHIRFormatError, match="appears twice"):
            read(data)
    once = json.dumps(json.loads(data.removeprefix(b"\xef\xbb\xbf"))).encode()  # the stdlib keeps the last
    assert [r.id for r in _streamed(once)] == ["a"]
    assert [r.id for r in parse_document(once, validate=False).resources] == ["a"]


def test_ndjson_is_read_a_line_at_a_time_and_a_bom_is_forgiven_on_the_first_line_only() -> None:
    lines = [json.dumps(_obs(f"n{n}")).encode() for n in range(5)]
    assert [r.id for r in _streamed(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n\n")] == [f"n{n}" for n in range(5)]
    with pytest.raises(FHIRFormatError, match="line 2"):
        _streamed(lines[0] + b"\n\xef\xbb\xbf" + lines[1])


def test_memory_holds_a_resource_not_the_file() -> None:
    def peak(count: int) -> int:
        data = b"\n".join(json.dumps(_obs(f"m{n}", note=[{"text": "x" * 500}])).encode() for n in range(count))
        stream = io.BytesIO(data)
        tracemalloc.start()
        try:
            for _ in read_stream(stream):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2_000), peak(20_000)  # 1.2 MB and 12 MB of NDJSON
    assert large < small * 1.5 and large < 4 * 1024 * 1024


def test_a_file_broken_at_its_last_line_is_refused_and_the_record_is_unchanged(tmp_path: Path) -> None:
    good = b"\n".join(json.dumps(_obs(f"g{n}")).encode() for n in range(2500))
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        record.parallel_from = 1000  # validated in worker processes, as a big file is
        before = (record.count(), len(record.sources()), record._query("SELECT count(*) FROM run")[0][0])
        with pytest.raises(ImportRefused, match=r"^late\.ndjson: not imported: line 2501: "):
            record.import_bytes(good + b'\n{"resourceType": "Observation", "id": "x", "id": "y"}\n', origin="late.ndjson")
        assert (record.count(), len(record.sources()), record._query("SELECT count(*) FROM run")[0][0]) == before
        assert record.import_bytes(good, origin="good.ndjson").counts.imported == 2500


def test_msgspec_finds_where_an_entry_ends_and_the_scan_decides_what_it_cannot_tell() -> None:
    from sync.fhir.parse import _SKIP_UNDERSTOOD, _value_end

    assert _SKIP_UNDERSTOOD  # msgspec's word on where a value stops is read (else every entry is scanned in Python)
    for text, start, end in [
        (b'{"a":1}]', 0, 7),
        (b'  {"a":[1, {"b": "]}\\""}]}\n\t ,{"c":2}', 2, 26),
        (b'[1,{"x":"]"}] }', 0, 13),
    ]:
        assert _value_end(text, start) == end
        assert json.loads(text[start:end]) is not None
    assert _value_end(b'{"a":"\xff"}]', 0) == 9  # where it ends; that it is not UTF-8 is the decoding's to say
    for cut_or_broken in (b'{"a":1', b'{"a":1}', b'{"a":1,}]', b"[" * 5000 + b"]" * 5000 + b","):
        assert _value_end(cut_or_broken, 0) is None
