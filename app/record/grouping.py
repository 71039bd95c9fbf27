"""Grouping members into facts: union-find over match edges, with the patient's decisions as hard constraints.

Pure Python over small integers (member indexes); nothing here knows about FHIR. Edges arrive in a deterministic
order, so the same input always gives the same groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Edge", "Groups", "Windowed", "group", "grouped_edges", "window_edges"]


# (a, b, reason): plain tuples, since a large record has hundreds of thousands of them.
Edge = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Windowed:
    """A member in a bucket matched by time: same bucket and close enough in time (or overlapping) is a match."""

    start: int  # a day number (date.toordinal())
    end: int | None  # last day of the period, when the resource states one
    order: str  # a content key that sorts members the same way on every run (never a rowid)
    index: int
    source: str


@dataclass(frozen=True)
class Groups:
    root: list[int]  # root[i] is the representative member of i's group
    reasons: dict[int, set[str]]  # per root: why its members were put together
    confirmed: set[int]  # roots whose members the patient said are the same


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression keeps later finds O(1)
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if rb < ra:  # the smaller index is the root: deterministic, whatever the edge order
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra


class _Cluster:
    __slots__ = ("last_start", "max_end", "sources", "representative")

    def __init__(self, start: int, end: int | None, sources: set[str], representative: int) -> None:
        self.last_start = start
        self.max_end = end
        self.sources = sources
        self.representative = representative

    def reaches(self, day: int, window_days: int) -> bool:
        return day - self.last_start <= window_days or (self.max_end is not None and day <= self.max_end)


def grouped_edges(
    exact: Mapping[tuple[Any, ...], list[int]], windowed: Mapping[tuple[Any, ...], list[Windowed]]
) -> list[Edge]:
    """The edges of buckets: every member of an exact bucket linked to its first (the reason is the key's third
    part), and the members of a windowed bucket as `window_edges` links them (the window in days is its fourth)."""
    edges: list[Edge] = []
    for key, members in exact.items():
        if len(members) > 1:
            first, reason = members[0], key[2]
            edges.extend((first, m, reason) for m in members[1:])
    for key, entries in windowed.items():
        if len(entries) > 1:
            edges.extend(window_edges(entries, key[3], key[2]))
    return edges


def window_edges(entries: list[Windowed], window_days: int, reason: str) -> list[Edge]:
    """Link members of one bucket that are within `window_days` of each other (or whose periods overlap).

    Members on the same day are one unit (they are copies of each other, joined on the exact date elsewhere).
    Units are linked only when no source is in both: one source listing the same code twice a few days apart is
    two events (two bronchitis episodes), not a copy, and a cluster holds each source once.
    """
    units: list[tuple[int, int | None, set[str], int]] = []
    edges: list[Edge] = []
    for entry in sorted(entries, key=lambda e: (e.start, e.order)):
        if units and units[-1][0] == entry.start:
            start, end, sources, first = units[-1]
            if entry.end is not None:
                end = entry.end if end is None else max(end, entry.end)
            units[-1] = (start, end, sources | {entry.source}, first)
            edges.append((first, entry.index, reason))
        else:
            units.append((entry.start, entry.end, {entry.source}, entry.index))
    clusters: list[_Cluster] = []
    for start, end, sources, first in units:
        clusters = [c for c in clusters if c.reaches(start, window_days)]
        for cluster in clusters:
            if cluster.sources & sources:
                continue
            cluster.sources |= sources
            cluster.last_start = start
            if end is not None:
                cluster.max_end = end if cluster.max_end is None else max(end, cluster.max_end)
            edges.append((cluster.representative, first, reason))
            break
        else:
            clusters.append(_Cluster(start, end, set(sources), first))
    return edges


def group(
    n: int,
    edges: Sequence[Edge],
    same: Sequence[tuple[int, int]] = (),
    different: Iterable[tuple[int, int]] = (),
) -> Groups:
    """Groups of members joined by edges and by the patient's "same" decisions, never joining a "different" pair.

    A group that would hold a pair the patient split is rebuilt edge by edge (decisions first, then the edges in
    their given order), skipping every union that would put a split pair back together.
    """
    uf = _UnionFind(n)
    for a, b in same:
        uf.union(a, b)
    union = uf.union
    for a, b, _ in edges:
        union(a, b)
    apart: dict[int, set[int]] = {}
    for a, b in different:
        if a != b:
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    broken = {uf.find(a) for a, others in apart.items() for b in others if uf.find(a) == uf.find(b)}
    if broken:
        _rebuild(uf, broken, edges, same, apart)
    reasons: dict[int, set[str]] = {}
    find = uf.find
    for a, b, reason in edges:
        ra = find(a)
        if ra == find(b):
            reasons.setdefault(ra, set()).add(reason)
    confirmed = set()
    for a, b in same:
        ra = uf.find(a)
        if ra == uf.find(b):
            confirmed.add(ra)
            reasons.setdefault(ra, set()).add("confirmed")
    return Groups([uf.find(i) for i in range(n)], reasons, confirmed)


def _rebuild(
    uf: _UnionFind,
    broken: set[int],
    edges: Sequence[Edge],
    same: Sequence[tuple[int, int]],
    apart: dict[int, set[int]],
) -> None:
    members = [i for i in range(len(uf.parent)) if uf.find(i) in broken]
    for i in members:
        uf.parent[i] = i
    inside = set(members)
    groups: dict[int, set[int]] = {i: {i} for i in members}

    def join(a: int, b: int) -> None:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            return
        small, large = (groups[ra], groups[rb]) if len(groups[ra]) <= len(groups[rb]) else (groups[rb], groups[ra])
        if any(apart.get(m, set()) & large for m in small):
            return
        root = uf.union(ra, rb)
        other = rb if root == ra else ra
        groups[root] = groups[ra] | groups[rb]
        del groups[other]

    for a, b in same:
        if a in inside and b in inside:
            join(a, b)
    for a, b, _ in edges:
        if a in inside and b in inside:
            join(a, b)
