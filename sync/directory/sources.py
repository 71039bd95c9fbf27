"""Where each vendor publishes its endpoint list, and where Carry downloads it from.

The default set is assets/directory/sources.json. Epic's list is fetched from Epic; Oracle Health's from its
GitHub repository; vendors that publish a web page rather than a file are fetched from ONC Lantern's normalised
mirror of that page (the vendor's page is kept in `page`, for people). $CARRY_DIRECTORY_SOURCES names another
file of the same shape (tests point it at a local server; a self-hoster can add lists).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..assets import ASSETS
from .errors import DirectoryError

__all__ = ["DEFAULT_SOURCES_FILE", "ListSource", "load_sources"]

DEFAULT_SOURCES_FILE = ASSETS / "directory" / "sources.json"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")


@dataclass(frozen=True, slots=True)
class ListSource:
    id: str  # names the cached copy, so letters, digits, ".", "_" and "-" only
    vendor: str
    url: str
    page: str = ""  # the vendor's own page for the list, when `url` is a mirror of it
    terms: str = ""  # what the publisher allows; shown with the data

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise DirectoryError(
                f"The list id {self.id!r} is not usable: use lower-case letters, digits, '.', '_' and '-'."
            )


def load_sources(path: Path | str | None = None) -> tuple[ListSource, ...]:
    """The lists to refresh: from `path`, else $CARRY_DIRECTORY_SOURCES, else the file shipped with Carry."""
    chosen = Path(path or os.environ.get("CARRY_DIRECTORY_SOURCES") or DEFAULT_SOURCES_FILE).expanduser()
    try:
        document = json.loads(chosen.read_bytes())
        rows = document["sources"]
        sources = tuple(
            ListSource(
                id=str(row["id"]),
                vendor=str(row.get("vendor", "")),
                url=str(row["url"]),
                page=str(row.get("page", "")),
                terms=str(row.get("terms", "")),
            )
            for row in rows
        )
    except OSError as exc:
        raise DirectoryError(f"Cannot read the list of provider lists {chosen}: {exc.strerror or exc}.") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DirectoryError(
            f'{chosen} is not a list of provider lists (expected {{"sources": [{{"id", "vendor", "url"}}, ...]}}).'
        ) from None
    if len({s.id for s in sources}) != len(sources):
        raise DirectoryError(f"{chosen} names the same list id twice.")
    return sources
