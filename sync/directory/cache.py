"""The downloaded vendor lists, kept as downloaded, and the index built from them.

Directory data is public (addresses of hospitals' FHIR servers, no patient data), so this cache is plain files in
the user cache directory. Every write goes to a temporary name first and is renamed over the old file, so an
interrupted refresh leaves the previous copy intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from ..atomic import write_atomic

__all__ = ["INDEX_NAME", "CachedList", "ListCache", "default_cache_dir"]

INDEX_NAME = "index.json"


def default_cache_dir() -> Path:
    """$CARRY_CACHE_DIR/directory, else the platform's user cache directory for Carry (~/.cache/carry/directory)."""
    chosen = os.environ.get("CARRY_CACHE_DIR")
    root = Path(chosen).expanduser() if chosen else Path(platformdirs.user_cache_dir("carry", appauthor=False))
    return root / "directory"


@dataclass(frozen=True, slots=True)
class CachedList:
    id: str
    vendor: str
    url: str
    entries: int
    fetched: str
    etag: str = ""
    terms: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "url": self.url,
            "entries": self.entries,
            "fetched": self.fetched,
            "etag": self.etag,
            "terms": self.terms,
        }


class ListCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_cache_dir()
        self.lists = self.root / "lists"
        self.index = self.root / INDEX_NAME

    def _body_path(self, list_id: str) -> Path:
        return self.lists / f"{list_id}.json"

    def _meta_path(self, list_id: str) -> Path:
        return self.lists / f"{list_id}.meta.json"

    def get(self, list_id: str) -> CachedList | None:
        """What is cached for `list_id`, or None (also when the copy is incomplete or its notes unreadable)."""
        if not self._body_path(list_id).exists():
            return None
        try:
            v = json.loads(self._meta_path(list_id).read_bytes())
            return CachedList(
                id=list_id,
                vendor=str(v.get("vendor", "")),
                url=str(v.get("url", "")),
                entries=int(v.get("entries", 0)),
                fetched=str(v.get("fetched", "")),
                etag=str(v.get("etag", "")),
                terms=str(v.get("terms", "")),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def body(self, list_id: str) -> bytes:
        return self._body_path(list_id).read_bytes()

    def store(self, entry: CachedList, body: bytes) -> None:
        self.lists.mkdir(parents=True, exist_ok=True)
        write_atomic(self._body_path(entry.id), body)
        write_atomic(self._meta_path(entry.id), json.dumps(entry.as_json(), indent=1).encode())

    def touch(self, entry: CachedList) -> None:
        """Record a check that found the list unchanged (HTTP 304)."""
        write_atomic(self._meta_path(entry.id), json.dumps(entry.as_json(), indent=1).encode())

