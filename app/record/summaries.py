"""What the summary showed, kept in the record (issue 20, part 1: an unlock on a big record does not recompute it).

A summary (app.views.dashboard) is built from kept facts, resources, notes and sources: at a million resources its
first build after an unlock reads thousands of pages. Kept here, in the encrypted record, it is read back in one row.
It is good only while the record is exactly as it was when the summary was built: every write transaction counts
itself (Record.write, schema 21), the count is read before the build begins, and a kept summary is shown only while
the count is still the one it was built at. A summary built while a write came in is not kept at all (the count moved
between its start and its keeping), so a kept summary never mixes two states of the record.

`key` names what the summary was built for (whose, by which code: app.views.dashboard makes it); `body` is its text.
"""

from __future__ import annotations

from .errors import RecordError
from .store import Record

__all__ = ["keep_summary", "kept_summary"]


def kept_summary(record: Record, key: str, count: int | None) -> str | None:
    """The summary kept under `key`, when it was built at `count` (the record's change count read now)."""
    if count is None:
        return None
    found = record.read("SELECT body FROM kept_summary WHERE key = ? AND stamp = ?", [key, count])
    return str(found[0][0]) if found else None


def keep_summary(record: Record, key: str, count: int | None, body: str) -> bool:
    """Keep `body` under `key` if the record is still at `count` (nothing was written since it was read); summaries
    of an older state are dropped. Not counted as a change, and never waiting for a write in progress (a sync's).
    False when not kept (a read-only or busy record, a write that came in meanwhile): the summary is built again
    next time, nothing else is lost."""
    if count is None or record.read_only:
        return False
    try:
        with record.write(counted=False, wait=False) as cur:
            (now,) = cur.execute("SELECT n FROM record_change").fetchone()
            if now != count:
                return False
            cur.execute("DELETE FROM kept_summary WHERE stamp != ?", (count,))
            cur.execute(
                "INSERT INTO kept_summary (key, stamp, body) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET stamp = excluded.stamp, body = excluded.body",
                (key, count, body),
            )
    except RecordError:
        return False
    return True
