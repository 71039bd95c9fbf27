"""The hostile-input corpus: files and FHIR payloads that a broken or malicious source could hand to `carry import`.

Each case makes its input in a directory and says what Carry must do with it: REFUSE it (one plain line, exit
status 1, the record unchanged) or FLAG it (stored, kept with a validation flag and its reason). Written for Carry
from the JSON (RFC 8259), Unicode, FHIR R4 JSON and narrative rules; nothing here is copied from elsewhere.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.record.files import MAX_IMPORT_BYTES

__all__ = ["CORPUS", "FLAG", "REFUSE", "Hostile"]

REFUSE, FLAG = "refuse", "flag"


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[Path], Path]  # writes the input into the given directory and returns its path
    expect: str  # REFUSE or FLAG


def _bytes(data: bytes, suffix: str = ".json") -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        path = where / f"input{suffix}"
        path.write_bytes(data)
        return path

    return make


def _text(text: str) -> Callable[[Path], Path]:
    return _bytes(text.encode("utf-8"))


def _resource(rtype: str, rid: str, **fields: object) -> dict[str, object]:
    return {"resourceType": rtype, "id": rid, **fields}


def _obs(rid: str, **fields: object) -> dict[str, object]:
    return _resource("Observation", rid, **{"status": "final", "code": {"text": "Glucose"}, **fields})


def _json(value: object) -> Callable[[Path], Path]:
    return _bytes(json.dumps(value).encode("utf-8"))


GOOD_BUNDLE = json.dumps({
    "resourceType": "Bundle", "type": "collection",
    "entry": [{"resource": _resource("Patient", f"hb{n}", name=[{"family": "Quill", "given": ["Ada"]}])} for n in range(3)],
}).encode()  # fmt: skip
XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def _narrative(rid: str, div: str) -> Callable[[Path], Path]:
    return _json(_resource("Patient", rid, text={"status": "generated", "div": div}))


def _nested(depth: int, opening: bytes, closing: bytes) -> bytes:
    return b'{"resourceType": "Patient", "extension": ' + opening * depth + closing * depth + b"}"


def _symlink(target: str) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        link = where / "input.json"
        link.symlink_to(target)
        return link

    return make


def _fifo(where: Path) -> Path:
    path = where / "input.json"
    os.mkfifo(path)
    return path


def _socket(where: Path) -> Path:
    path = where / "input.json"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))  # the socket file stays after close
    server.close()
    return path


def _directory(where: Path) -> Path:
    path = where / "input.json"
    path.mkdir()
    return path


def _missing(where: Path) -> Path:
    return where / "input.json"


def _dangling(where: Path) -> Path:
    link = where / "input.json"
    link.symlink_to(where / "nowhere.json")
    return link


def _loop(where: Path) -> Path:
    (where / "input.json").symlink_to(where / "other.json")
    (where / "other.json").symlink_to(where / "input.json")
    return where / "input.json"


def _sparse(where: Path) -> Path:
    path = where / "input.json"
    with path.open("wb") as out:
        out.truncate(MAX_IMPORT_BYTES + 1)
    return path


_REFUSED: dict[str, Callable[[Path], Path]] = {
    # empty, truncated, not JSON
    "an empty file": _bytes(b""),
    "whitespace only": _bytes(b" \n\t\r\n  "),
    "a BOM and nothing else": _bytes(codecs.BOM_UTF8),
    "a BOM and garbage": _bytes(codecs.BOM_UTF8 + b"garbage"),
    "two BOMs": _bytes(codecs.BOM_UTF8 * 2 + GOOD_BUNDLE),
    "truncated after 1 byte": _bytes(GOOD_BUNDLE[:1]),
    "truncated after 10 bytes": _bytes(GOOD_BUNDLE[:10]),
    "truncated in a key": _bytes(GOOD_BUNDLE[:40]),
    "truncated in the middle": _bytes(GOOD_BUNDLE[: len(GOOD_BUNDLE) // 2]),
    "truncated by one byte": _bytes(GOOD_BUNDLE[:-1]),
    "truncated NDJSON last line": _bytes(b'{"resourceType": "Patient", "id": "t1"}\n{"resourceType": "Pat'),
    "plain text": _bytes(b"Patient: Ada Quill, born 1970"),
    "an XML document": _bytes(b'<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>'),
    "an HTML page": _bytes(b"<!doctype html><html><script>alert(1)</script></html>"),
    "random bytes": _bytes(random.Random(13).randbytes(4096)),
    "gzip-compressed JSON": _bytes(gzip.compress(GOOD_BUNDLE, mtime=0)),
    "a ZIP header": _bytes(b"PK\x03\x04" + b"\0" * 60),
    "a PDF header": _bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
    "NUL bytes only": _bytes(b"\0" * 1024),
    # encodings
    "UTF-16 LE with a BOM": _bytes(codecs.BOM_UTF16_LE + GOOD_BUNDLE.decode().encode("utf-16-le")),
    "UTF-16 BE with a BOM": _bytes(codecs.BOM_UTF16_BE + GOOD_BUNDLE.decode().encode("utf-16-be")),
    "UTF-16 LE without a BOM": _bytes(GOOD_BUNDLE.decode().encode("utf-16-le")),
    "UTF-32": _bytes(GOOD_BUNDLE.decode().encode("utf-32")),
    "Latin-1 text": _bytes('{"resourceType": "Patient", "name": [{"family": "Müller"}]}'.encode("latin-1")),
    "an overlong UTF-8 encoding": _bytes(b'{"resourceType": "Patient", "id": "\xc0\xaf"}'),
    "a cut multi-byte character": _bytes(b'{"resourceType": "Patient", "id": "a\xe2\x82"}'),
    "a surrogate encoded in UTF-8 (CESU-8)": _bytes(b'{"resourceType": "Patient", "id": "\xed\xa0\x80"}'),
    "a byte 0xFF": _bytes(b'{"resourceType": "Patient", "id": "\xff"}'),
    "a lone high surrogate escape": _text('{"resourceType": "Patient", "name": [{"family": "\\ud800"}]}'),
    "a lone low surrogate escape": _text('{"resourceType": "Patient", "name": [{"family": "\\udc00x"}]}'),
    "a reversed surrogate pair": _text('{"resourceType": "Patient", "name": [{"family": "\\ude00\\ud83d"}]}'),
    "a lone surrogate in a key": _text('{"resourceType": "Patient", "\\ud800": 1}'),
    # JSON that is not an object, or not FHIR
    "a JSON array": _json([_resource("Patient", "arr")]),
    "a JSON string": _json("Patient"),
    "a JSON number": _bytes(b"42"),
    "JSON null": _bytes(b"null"),
    "JSON true": _bytes(b"true"),
    "an empty object": _bytes(b"{}"),
    "an object without resourceType": _json({"id": "x", "name": [{"family": "Quill"}]}),
    "resourceType a number": _json({"resourceType": 7}),
    "resourceType null": _json({"resourceType": None}),
    "resourceType an object": _json({"resourceType": {"$ne": None}}),
    "an unknown resourceType": _json({"resourceType": "Hacker", "id": "h"}),
    "an R5-only resourceType": _json({"resourceType": "SubscriptionTopic", "id": "s"}),
    "resourceType with escape sequences": _json({"resourceType": "\x1b[2JPatient\n\n\n"}),
    "resourceType of a megabyte": _json({"resourceType": "P" * 1_000_000}),
    # broken Bundles
    "entry is an object": _json({"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}}),
    "entry is a string": _json({"resourceType": "Bundle", "type": "collection", "entry": "all of them"}),
    "an entry that is a number": _json({"resourceType": "Bundle", "type": "collection", "entry": [1]}),
    "an entry without a resource": _json({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}),
    "an entry whose resource is a list": _json({"resourceType": "Bundle", "entry": [{"resource": []}]}),
    "an entry resource without resourceType": _json({"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]}),
    "100,000 entries that are not objects": _bytes(
        b'{"resourceType": "Bundle", "type": "collection", "entry": [' + b",".join([b"0"] * 100_000) + b"]}"
    ),
    # nesting
    "arrays nested 100,000 deep": _bytes(_nested(100_000, b"[", b"]")),
    "objects nested 100,000 deep": _bytes(_nested(100_000, b'{"a":', b"}")),
    "arrays nested 5,000 deep": _bytes(_nested(5_000, b"[", b"]")),
    "an unclosed nesting 50,000 deep": _bytes(b'{"resourceType": "Patient", "x": ' + b"[" * 50_000),
    # duplicate keys
    "a duplicate id": _text('{"resourceType": "Patient", "id": "a", "id": "b"}'),
    "a duplicate resourceType": _text('{"resourceType": "Patient", "resourceType": "Observation", "id": "rt"}'),
    "a duplicate key deep inside": _text('{"resourceType": "Patient", "name": [{"family": "A", "family": "B"}]}'),
    "a duplicate key in a Bundle entry": _text(
        '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "d1", "active": true, '
        '"active": false}}]}'
    ),
    "a duplicate key on an NDJSON line": _text(
        '{"resourceType": "Patient", "id": "n1"}\n{"resourceType": "Patient", "id": "n2", "gender": "male", "gender": "female"}\n'
    ),
    # not JSON, almost
    "NaN": _text('{"resourceType": "Observation", "valueQuantity": {"value": NaN}}'),
    "Infinity": _text('{"resourceType": "Observation", "valueQuantity": {"value": Infinity}}'),
    "a trailing comma": _text('{"resourceType": "Patient", "id": "tc",}'),
    "single quotes": _text("{'resourceType': 'Patient'}"),
    "a comment": _text('{"resourceType": "Patient" // a comment\n}'),
    "an unquoted key": _text('{resourceType: "Patient"}'),
    "a raw control character in a string": _bytes(b'{"resourceType": "Patient", "id": "a\x01b"}'),
    "a raw NUL in a string": _bytes(b'{"resourceType": "Patient", "id": "a\x00b"}'),
    "a raw newline in a string": _bytes(b'{"resourceType": "Patient", "id": "a\nb"}'),
    "a bad escape": _text('{"resourceType": "Patient", "id": "\\x41"}'),
    "trailing garbage": _bytes(GOOD_BUNDLE + b" <script>"),
    "two objects on one line": _bytes(b'{"resourceType": "Patient", "id": "c1"}{"resourceType": "Patient", "id": "c2"}'),
    # NDJSON gone wrong
    "an NDJSON line that is an array": _text('{"resourceType": "Patient", "id": "l1"}\n[1, 2]\n'),
    "an NDJSON line without resourceType": _text('{"resourceType": "Patient", "id": "l2"}\n{"id": "l3"}\n'),
    "a broken NDJSON line in the middle": _text(
        '{"resourceType": "Patient", "id": "l4"}\n{"resourceType": \n{"resourceType": "Patient", "id": "l5"}\n'
    ),
    "an NDJSON line of an unknown type": _text('{"resourceType": "Patient", "id": "l6"}\n{"resourceType": "Nope"}\n'),
    # special files, links, sizes
    "a FIFO": _fifo,
    "a UNIX socket": _socket,
    "a symlink to /dev/zero": _symlink("/dev/zero"),
    "a symlink to /dev/urandom": _symlink("/dev/urandom"),
    "a symlink to /dev/null": _symlink("/dev/null"),
    "a directory": _directory,
    "a missing file": _missing,
    "a dangling symlink": _dangling,
    "a symlink loop": _loop,
    "a sparse file over the size limit": _sparse,
}

_FLAGGED: dict[str, Callable[[Path], Path]] = {
    # numbers
    "a decimal of 1e400": _text(
        '{"resourceType": "Observation", "id": "n400", "status": "final", "code": {"text": "x"}, '
        '"valueQuantity": {"value": 1e400}}'
    ),
    "a decimal of -1e400": _text(
        '{"resourceType": "Observation", "id": "m400", "status": "final", "code": {"text": "x"}, '
        '"valueQuantity": {"value": -1e400}}'
    ),
    "a decimal of 1e-400": _text(
        '{"resourceType": "Observation", "id": "u400", "status": "final", "code": {"text": "x"}, '
        '"valueQuantity": {"value": 1e-400}}'
    ),
    "an integer of 400 digits": _text(
        '{"resourceType": "Observation", "id": "i400", "status": "final", "code": {"text": "x"}, '
        '"valueInteger": ' + "9" * 400 + "}"
    ),
    # control characters in strings
    "an escaped NUL": _json(_resource("Patient", "nul", name=[{"family": "Quill\0"}])),
    "an escape sequence in a name": _json(_resource("Patient", "esc", name=[{"family": "\x1b[2J\x1b[31mQuill"}])),
    "a terminal title change": _json(_obs("title", note=[{"text": "\x1b]0;owned\x07"}])),
    "a bell": _json(_resource("Patient", "bell", name=[{"family": "Quill\x07"}])),
    "a backspace in an id": _json(_resource("Patient", "a\bb")),
    "a form feed in a display": _json(_obs("ff", code={"text": "Glu\x0ccose"})),
    "an escape in a Bundle entry": _json(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _resource("Patient", "be", gender="\x1b[8m")}]}
    ),
    # null
    '"id": null': _json({"resourceType": "Patient", "id": None, "gender": "female"}),
    "a null name": _json(_resource("Patient", "nn", name=None)),
    "a null deep inside": _json(_resource("Patient", "nd", name=[{"family": None}])),
    "a null code": _json(_obs("nc", valueQuantity={"value": 1, "unit": None})),
    # contained resources
    "a contained-resource loop": _json(_resource("Patient", "loop", contained=[
        _resource("Organization", "a", partOf={"reference": "#b"}),
        _resource("Organization", "b", partOf={"reference": "#a"}),
    ])),  # fmt: skip
    "a contained resource referring to itself": _json(_resource("Patient", "self", contained=[
        _resource("Organization", "a", partOf={"reference": "#a"}),
    ])),  # fmt: skip
    "contained inside contained": _json(_resource("Patient", "nest", managingOrganization={"reference": "#a"}, contained=[
        _resource("Organization", "a", contained=[_resource("Organization", "b")]),
    ])),  # fmt: skip
    "an unreferenced contained resource": _json(_resource("Patient", "unref", contained=[_resource("Organization", "o")])),
    "two contained resources with one id": _json(_resource("Patient", "twice", managingOrganization={"reference": "#a"},
                                                           contained=[_resource("Organization", "a"),
                                                                      _resource("Organization", "a")])),  # fmt: skip
    # narratives
    "a script in the narrative": _narrative("xss1", f"<div {XHTML}><script>alert(1)</script></div>"),
    "an event handler in the narrative": _narrative("xss2", f'<div {XHTML}><img src="x" onerror="alert(1)"/></div>'),
    "a javascript: link in the narrative": _narrative("xss3", f'<div {XHTML}><a href="javascript:alert(1)">x</a></div>'),
    "an iframe in the narrative": _narrative("xss4", f'<div {XHTML}><iframe src="https://evil.example"/></div>'),
    "a form in the narrative": _narrative("xss5", f'<div {XHTML}><form action="https://evil.example"><input/></form></div>'),
    "an object in the narrative": _narrative("xss6", f'<div {XHTML}><object data="x.swf">x</object></div>'),
    "a style element in the narrative": _narrative("xss7", f"<div {XHTML}><style>body{{display:none}}</style>x</div>"),
    "an SVG with a script in the narrative": _narrative(
        "xss8", f'<div {XHTML}><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>x</div>'
    ),
    "entity expansion in the narrative": _narrative(
        "xss9", '<!DOCTYPE div [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        f"<div {XHTML}>&b;&b;&b;</div>"
    ),
    "a narrative that is not XML": _narrative("xss10", f"<div {XHTML}><p>unclosed<br></div>"),
    "a narrative that is not a div": _narrative("xss11", f"<p {XHTML}>x</p>"),
    "a narrative without the XHTML namespace": _narrative("xss12", "<div><p>x</p></div>"),
    "an empty narrative": _narrative("xss13", f"<div {XHTML}>   </div>"),
    "a narrative in a Bundle entry": _json({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _resource("Condition", "xss14", subject={"reference": "Patient/p"}, text={
            "status": "generated", "div": f"<div {XHTML}><script>1</script></div>"})}]}),  # fmt: skip
    # what the models catch
    "a Bundle in an entry, holding an unknown type": _json({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Evil"}}]}}]}),  # fmt: skip
    "an id that is a number": _json({"resourceType": "Patient", "id": 5}),
    "an unknown element": _json(_resource("Patient", "unknown", hacker=True)),
    "an impossible birth date": _json(_resource("Patient", "bd", birthDate="2020-13-45")),
    "an id of 100,000 characters": _json(_resource("Patient", "a" * 100_000)),
    "a status that is an object": _json(_resource("Observation", "so", status={"a": 1}, code={"text": "x"})),
    "an Observation without code": _json(_resource("Observation", "noc", status="final")),
    "extensions nested 300 deep": _bytes(
        b'{"resourceType": "Patient", "id": "deepx", "extension": ['
        + b'{"url": "http://x.example", "extension": [' * 300
        + b'{"url": "http://y.example", "valueString": "z"}'
        + b"]}" * 300
        + b"]}"
    ),
    "a BOM before an invalid resource": _bytes(codecs.BOM_UTF8 + json.dumps(_resource("Patient", "bom", id2=1)).encode()),
    "an invalid line among valid NDJSON": _text(
        json.dumps(_resource("Patient", "ok1")) + "\n" + json.dumps(_obs("bad1", valueQuantity={"value": "high"})) + "\n"
    ),
}

CORPUS: list[Hostile] = [Hostile(name, make, REFUSE) for name, make in _REFUSED.items()] + [
    Hostile(name, make, FLAG) for name, make in _FLAGGED.items()
]
