"""The searchable directory: every provider from the shipped data and the downloaded lists, deduplicated.

Search runs on every keystroke in the UI, so the work is done once at load: each provider gets two folded
haystacks (" word word "), and a query is a few substring scans over them, which stay in C.
"""

from __future__ import annotations

import gc
import heapq
import json
from itertools import islice
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..assets import ASSETS
from .builtin import PUBLIC_SMART_SANDBOX
from .cache import INDEX_NAME, default_cache_dir
from .errors import ListFormatError
from .places import STATES, state_code
from .provider import Provider, base_key
from .slim import SLIM_FORMAT, provider_from_row, read_slim, write_slim
from .text import fold, haystack
from .vendors import VENDOR_KEYS, vendor_key

__all__ = ["SHIPPED_DIRECTORY", "Directory", "ListInfo"]

SHIPPED_DIRECTORY = ASSETS / "directory" / "providers.json"


@dataclass(frozen=True, slots=True)
class ListInfo:
    """One list the directory was built from, for "where does this come from" and "how old is it"."""

    id: str
    vendor: str = ""
    url: str = ""
    entries: int = 0
    fetched: str = ""  # ISO date-time of the download, or of the copy that was shipped
    licence: str = ""
    shipped: bool = False

    @classmethod
    def from_json(cls, value: Any, *, shipped: bool) -> ListInfo:
        v = value if isinstance(value, dict) else {}
        return cls(
            id=str(v.get("id", "")),
            vendor=str(v.get("vendor", "")),
            url=str(v.get("url", "")),
            entries=int(v.get("entries", 0) or 0),
            fetched=str(v.get("fetched", "")),
            licence=str(v.get("licence", "")),
            shipped=shipped,
        )


_FOLD_VERSION = 1  # bump when text.fold changes, so stale precomputed search columns are recomputed


@dataclass(slots=True)
class _Block:
    """Parallel columns: the dedup key, the provider (or its raw slim row until first needed), two haystacks."""

    keys: list[tuple[str, str]] = field(default_factory=list)  # (folded name, base_key or "" until needed)
    items: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    hay: list[str] = field(default_factory=list)  # name + "|" + place: the filter step is one `in` per word

    def __len__(self) -> int:
        return len(self.keys)

    def base(self, i: int) -> str:
        item = self.items[i]
        return base_key(item.fhir_base if isinstance(item, Provider) else item[1])


def _block(providers: Iterable[Provider]) -> _Block:
    """Deduplicated (same FHIR base and name: places and aliases merged) and sorted by name."""
    merged: dict[tuple[str, str], Provider] = {}
    for p in providers:
        key = (fold(p.name), base_key(p.fhir_base))
        first = merged.get(key)
        if first is None:
            merged[key] = p
            continue
        places = tuple(dict.fromkeys((*first.places, *p.places)))
        aliases = tuple(dict.fromkeys((*first.aliases, *(a for a in p.aliases if a != first.name))))
        if places != first.places or aliases != first.aliases:
            merged[key] = replace(first, places=places, aliases=aliases)
    out = _Block()
    for key, p in sorted(merged.items(), key=lambda item: item[0][0]):
        out.keys.append(key)
        out.items.append(p)
        out.names.append(_name_haystack(key[0], p))
        out.places.append(_place_haystack(p))
    out.hay = [n + "|" + p for n, p in zip(out.names, out.places)]
    return out


def _prepared_block(document: dict[str, Any]) -> _Block | None:
    """The block of an index written by write_index(), without folding anything; None when it must be rebuilt."""
    search = document.get("search")
    rows = document.get("providers")
    if not isinstance(search, dict) or search.get("fold") != _FOLD_VERSION or not isinstance(rows, list):
        return None
    columns = search.get("columns")
    if not isinstance(columns, list) or len(columns) != len(rows):
        return None
    out = _Block(items=rows)
    try:
        for folded, aliases, place in columns:
            out.keys.append((folded, ""))
            out.names.append(f" {folded} {aliases} " if aliases else f" {folded} ")
            out.places.append(place)
    except (TypeError, ValueError):
        return None
    out.hay = [n + "|" + p for n, p in zip(out.names, out.places)]
    return out



def _slice(block: _Block, start: int, stop: int | None = None) -> _Block:
    cut = slice(start, stop)
    return _Block(block.keys[cut], block.items[cut], block.names[cut], block.places[cut], block.hay[cut])


def _concat(blocks: Sequence[_Block]) -> _Block:
    """Blocks joined in order; an entry already in an earlier block (same folded name and base) is dropped.

    Each block is deduplicated within itself already, so only names shared with earlier blocks need their base
    compared; the rest is copied with list operations, which keeps a load of tens of thousands of entries cheap.
    """
    out = _Block()
    for block in blocks:
        if out.keys:
            earlier: dict[str, list[int]] = {}
            for j, key in enumerate(out.keys):
                earlier.setdefault(key[0], []).append(j)
            clashes = [i for i, key in enumerate(block.keys) if key[0] in earlier]
            drop = set()
            for i in clashes:
                bkey = block.base(i)
                if any(out.base(j) == bkey for j in earlier[block.keys[i][0]]):
                    drop.add(i)
            if drop:
                keep = [i for i in range(len(block)) if i not in drop]
                block = _Block(
                    [block.keys[i] for i in keep],
                    [block.items[i] for i in keep],
                    [block.names[i] for i in keep],
                    [block.places[i] for i in keep],
                    [block.hay[i] for i in keep],
                )
        out.keys += block.keys
        out.items += block.items
        out.names += block.names
        out.places += block.places
        out.hay += block.hay
    return out


class Directory:
    """An immutable, searchable set of providers. Build with Directory.load() or Directory(providers).

    `pinned` providers (the sandboxes) are always listed first when there is no query, and win ties in search.
    """

    def __init__(
        self,
        providers: Iterable[Provider] = (),
        *,
        pinned: Iterable[Provider] = (),
        lists: Sequence[ListInfo] = (),
        warnings: Sequence[str] = (),
    ) -> None:
        self._setup(_block(pinned), [_block(providers)], lists, warnings)

    def _setup(
        self, pinned: _Block, rest: Sequence[_Block], lists: Sequence[ListInfo], warnings: Sequence[str]
    ) -> None:
        self._pinned = len(pinned)
        self._block = _concat([pinned, *rest])
        self.lists: tuple[ListInfo, ...] = tuple(lists)
        self.warnings: tuple[str, ...] = tuple(warnings)

    # --- building ----------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, *, cache_dir: Path | None = None, shipped: Path | None = SHIPPED_DIRECTORY) -> Directory:
        """The shipped providers, plus those downloaded by `carry providers --refresh` into `cache_dir`.

        `cache_dir=None` uses the default cache (cache.default_cache_dir()). A cache that cannot be read is
        skipped with a warning (the shipped data still loads); the shipped file is part of Carry and must load.
        """
        blocks: list[_Block] = []
        lists: list[ListInfo] = []
        warnings: list[str] = []
        if shipped is not None:
            doc = _read_json(shipped)
            blocks.append(_block(read_slim(doc, "The shipped provider directory")))
            lists += [ListInfo.from_json(s, shipped=True) for s in doc.get("sources") or ()]
        index = (cache_dir if cache_dir is not None else default_cache_dir()) / INDEX_NAME
        if index.exists():
            try:
                doc = _read_json(index)
                if doc.get("format") != SLIM_FORMAT:
                    raise ListFormatError(f"{index} is not a Carry provider directory.")
                prepared = _prepared_block(doc)
                blocks.append(prepared or _block(read_slim(doc, "The downloaded provider directory")))
                lists += [ListInfo.from_json(s, shipped=False) for s in doc.get("sources") or ()]
            except ListFormatError as exc:
                warnings.append(f"{exc} Run `carry providers --refresh` to download the lists again.")
        directory = cls.__new__(cls)
        directory._setup(_block([PUBLIC_SMART_SANDBOX]), blocks, lists, warnings)
        return directory

    def with_extra(self, providers: Iterable[Provider]) -> Directory:
        """A copy with `providers` listed first (e.g. the local sandbox, whose address is known only at run time)."""
        pinned = _concat([_block(providers), _slice(self._block, 0, self._pinned)])
        rest = _slice(self._block, self._pinned)
        directory = Directory.__new__(Directory)
        directory._setup(pinned, [rest], self.lists, self.warnings)
        return directory

    def write_index(self, path: Path, *, sources: Iterable[dict[str, Any]] = ()) -> None:
        """Save the providers (not the pinned ones) with their search columns, for a fast load()."""
        at = self._pinned
        columns = [
            [key[0], name[len(key[0]) + 2 : -1].strip(), place]
            for key, name, place in zip(self._block.keys[at:], self._block.names[at:], self._block.places[at:])
        ]
        write_slim(
            path,
            (self._provider(i) for i in range(at, len(self))),
            sources=sources,
            extra={"search": {"fold": _FOLD_VERSION, "columns": columns}},
        )

    # --- reading -----------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._block)

    def __iter__(self) -> Iterator[Provider]:
        return (self._provider(i) for i in range(len(self)))

    def _provider(self, i: int) -> Provider:
        item = self._block.items[i]
        if not isinstance(item, Provider):
            try:
                item = self._block.items[i] = provider_from_row(item)
            except (TypeError, ValueError):
                item = self._block.items[i] = Provider("(unreadable entry)", "")
        return item

    def search(
        self, text: str = "", *, state: str | None = None, vendor: str | None = None, limit: int | None = 20
    ) -> list[Provider]:
        """Providers matching every word of `text`, best first.

        A word matches the start of a word in the name, an alias, the city, the state (code or name), the ZIP
        code or the vendor; case and accents do not matter, so results can follow each keystroke. Ranking: whole
        words in the name beat word starts in the name, which beat matches on place or vendor; then the pinned
        entries (sandboxes), then shorter names. `state` ("MA" or "Massachusetts") and `vendor` (a name or a key
        such as "epic" or "oracle-health") filter.
        """
        candidates: Iterable[int] = range(len(self))
        places = self._block.places
        if state:
            code = f" {fold(state_code(state))} "
            candidates = [i for i in candidates if code in places[i]]
        if vendor:
            candidates = self._by_vendor(vendor, candidates)
        words = fold(text).split()
        hay = self._block.hay
        for word in sorted(set(words), key=len, reverse=True):  # the longest word usually narrows the most
            needle = " " + word
            candidates = [i for i in candidates if needle in hay[i]]
        if not words:
            chosen = list(candidates) if limit is None else list(islice(candidates, limit))
            return [self._provider(i) for i in chosen]
        phrase = " " + " ".join(words)
        names = self._block.names
        pinned = self._pinned

        def rank(i: int) -> tuple[int, bool, int, int]:
            name = names[i]
            score = 0
            for word in words:
                if f" {word} " in name:
                    score += 4
                elif f" {word}" in name:
                    score += 3
                elif f" {word} " in places[i]:
                    score += 2
                else:
                    score += 1
            if name.startswith(phrase):
                score += 3
            elif phrase in name:
                score += 1
            return -score, i >= pinned, len(name), i

        ordered = sorted(candidates, key=rank) if limit is None else heapq.nsmallest(limit, candidates, key=rank)
        return [self._provider(i) for i in ordered]

    def _by_vendor(self, vendor: str, candidates: Iterable[int]) -> list[int]:
        wanted = vendor.strip().lower()
        key = wanted if wanted in VENDOR_KEYS else vendor_key(vendor)
        if key != "other":
            # The vendor key is the last word of every place haystack (see _place_haystack).
            needle = f" {key.replace('-', ' ')} "
            return [i for i in candidates if self._block.places[i].endswith(needle)]
        needle = " " + fold(vendor)
        return [i for i in candidates if needle in f" {fold(self._provider(i).vendor)} "]


def _name_haystack(folded_name: str, p: Provider) -> str:
    return f" {folded_name} {fold(' '.join(p.aliases))} " if p.aliases else f" {folded_name} "


def _place_haystack(p: Provider) -> str:
    parts: list[str] = []
    for place in p.places:
        parts += [place.city, place.state, STATES.get(place.state, ""), place.zip]
    return haystack(*parts, p.vendor, p.vendor_key.replace("-", " "))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        # Parsing makes hundreds of thousands of small lists and strings, none of them garbage; pausing the
        # cyclic collector meanwhile roughly halves the load time of a large index.
        paused = gc.isenabled()
        gc.disable()
        try:
            value = json.loads(data)
        finally:
            if paused:
                gc.enable()
    except OSError as exc:
        raise ListFormatError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise ListFormatError(f"{path} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ListFormatError(f"{path} is not a Carry provider directory.")
    return value

