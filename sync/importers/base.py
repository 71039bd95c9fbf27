"""The importers seam: what every importer of a non-FHIR file (health cards, device exports, clinical documents)
offers, and what it is given.

An importer recognises a file by its content (the first bytes; for a container, its table of contents), never by
its name, and turns it into FHIR resources, yielded one at a time so that a large file is never held whole. The
caller stores them all in one transaction: a file is imported whole or not at all.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..fhir.parse import ParsedResource, content_hash, dumps
from .errors import ImportFailed

__all__ = ["HEAD_BYTES", "ImportContext", "Importer", "KeyCache", "draft", "parsed", "read_whole", "stable_id"]

# How much of a file is read to recognise it: enough for an XML prolog with a long DOCTYPE.
HEAD_BYTES = 64 * 1024

_ID_NAMESPACE = uuid.UUID("0b7f3c1e-2f7a-4c55-9a55-7f2b8c3d1e90")
_ID_PREFIX = _ID_NAMESPACE.bytes
_sha1 = hashlib.sha1


class KeyCache(Protocol):
    """Where what an importer learns for next time is kept (the record's settings: encrypted, never a plain file)."""

    def get_setting(self, key: str, default: str | None = None) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class ImportContext:
    cache: KeyCache
    # Whether the importer may go online (e.g. for a health card issuer's keys); False keeps it to the cache.
    online: bool = True
    # What the patient should be told about the import besides the counts, one sentence each ("A health card ...
    # is not verified: ..."); the importer appends, the caller shows them.
    notes: list[str] = field(default_factory=list)
    # The patient's word on a file that is one document (a PDF or a photo): its title and its date (YYYY-MM-DD);
    # None lets the importer propose them (the file's name, the date it states). Other importers ignore them.
    title: str | None = None
    date: str | None = None


class Importer(Protocol):
    """One kind of file Carry can bring in besides FHIR JSON."""

    @property
    def kind(self) -> str:
        """What the file is, for messages and the import log ("SMART Health Card")."""
        ...

    def recognises(self, head: bytes, path: Path) -> bool:
        """Whether the file is of this kind, judged from `head` (its first HEAD_BYTES) and, for a container, the
        container's own table of contents. Never from the file's name; never raises."""
        ...

    def resources(self, path: Path, context: ImportContext) -> Iterator[ParsedResource]:
        """The file's content as FHIR resources, streamed. Raises ImportFailed (a sentence, no content) when the
        file cannot be read; the caller then stores nothing of it. It is called before the record is opened for
        writing and iterated inside that transaction: slow work done at call time (the network) keeps the record
        free, work done while iterating (streaming a large file) keeps memory flat. What it yields may be
        drafts (`draft`): the import serialises them once it has given them their person."""
        ...


def stable_id(*parts: str) -> str:
    """An id made from content: the same content always gets the same id, so importing it again adds nothing.

    It is uuid.uuid5(_ID_NAMESPACE, the parts joined by U+001F) written out (RFC 4122: the SHA-1 of namespace and
    name, its version and variant bits set), without the UUID object: an export's thousands of readings feel it."""
    digest = bytearray(_sha1(_ID_PREFIX + "\x1f".join(parts).encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def parsed(resource: dict[str, Any]) -> ParsedResource:
    """A resource an importer made, ready to store; not validated yet (the record checks it afterwards)."""
    return ParsedResource(
        resource["resourceType"], resource["id"], resource, dumps(resource), content_hash(resource), None, checked=False
    )


def draft(resource: dict[str, Any]) -> ParsedResource:
    """A resource an importer made that the import still completes (gives it its person) before storing: it is
    serialised and hashed once, then, not twice (a file of many thousands of readings feels it). Only for what
    `import_with` stores; anything else takes `parsed`."""
    return ParsedResource(resource["resourceType"], resource["id"], resource, b"", "", None, checked=False)


def read_whole(path: Path, limit: int, too_large: str) -> bytes:
    """All of a file that must be read whole (a document, a card), refused with `too_large` past `limit` bytes."""
    try:
        if path.stat().st_size > limit:
            raise ImportFailed(too_large)
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"It cannot be read ({exc.strerror}).") from None
