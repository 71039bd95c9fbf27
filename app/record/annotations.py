"""The patient's corrections and context (schema version 10): "this is wrong or incomplete", with their own words,
kept beside an item and never inside it.

A note is linked to an item by the item's source key, type and id (never by rowid, so a source forgotten and synced
again finds its notes again); the source's copy of the item is never altered. Changing a note adds a new version and
points the old one at it (`replaced_by`); deleting one marks it deleted: every version stays in the record. The
audit log says that a note was written, changed or deleted, and on which item, never what it says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sync.errors import Action

from .errors import RecordError
from .people import Person, owners, people, source_key
from .store import Record, ResourceRow, _now, fts_match

__all__ = [
    "NOTE_LIMIT",
    "Note",
    "NoteError",
    "NoteMatch",
    "add_note",
    "delete_note",
    "edit_note",
    "find_note",
    "note_history",
    "noted_items",
    "notes",
    "notes_for",
    "search_notes",
]

NOTE_LIMIT = 4000  # characters; a note is the patient's few sentences, not a document
_COLUMNS = "a.id, a.source_key, a.item_type, a.item_id, a.person_id, a.text, a.created_at, a.replaced_by, a.deleted_at"


class NoteError(RecordError):
    """A note Carry will not keep as asked (empty, too long, about nothing in the record, already gone)."""

    code = "record.note-refused"
    default_message = "The note was not kept; nothing was changed."


@dataclass(frozen=True)
class Note:
    """One version of the patient's note on one item."""

    id: int
    source_key: str
    item_type: str
    item_id: str
    person_id: int | None
    text: str
    created_at: str
    replaced_by: int | None
    deleted_at: str | None
    source_id: int | None  # the item's source as the record holds it now (None once that source is forgotten)
    source: str | None

    @property
    def current(self) -> bool:
        return self.replaced_by is None and self.deleted_at is None

    @property
    def item(self) -> str:
        return f"{self.item_type}/{self.item_id}"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "item": self.item, "source": self.source, "text": self.text,
                "written": self.created_at, "current": self.current}  # fmt: skip


def _clean(text: str) -> str:
    value = "".join(ch for ch in str(text) if ch in "\n\t" or ch >= " ").strip()
    if not value:
        raise NoteError("The note is empty; write what is wrong or missing.")
    if len(value) > NOTE_LIMIT:
        raise NoteError(f"A note may be at most {NOTE_LIMIT} characters long; this one has {len(value)}.")
    return value


def _sources(record: Record) -> tuple[dict[int, str], dict[str, tuple[int, str]]]:
    """(source id -> source key, source key -> (source id, name)) for the sources the record holds now."""
    keys: dict[int, str] = {}
    by_key: dict[str, tuple[int, str]] = {}
    for sid, kind, name, base in record._query("SELECT id, kind, name, base_url FROM source ORDER BY id"):
        key = source_key(kind, name, base)
        keys[int(sid)] = key
        by_key.setdefault(key, (int(sid), str(name)))
    return keys, by_key


def _notes(record: Record, where: str, params: Iterable[Any]) -> list[Note]:
    _, by_key = _sources(record)
    out = []
    for nid, skey, rtype, rid, person, text, created, replaced, deleted in record._query(
        f"SELECT {_COLUMNS} FROM annotation a WHERE {where} ORDER BY a.id", list(params)
    ):
        sid, name = by_key.get(skey, (None, None))
        out.append(Note(int(nid), skey, rtype, rid, person, text, created, replaced, deleted, sid, name))
    return out


def _whose(record: Record, source_id: int, subject: str | None) -> int | None:
    if subject is None:
        return None
    return owners(people(record)).get((source_id, subject))


def add_note(record: Record, item_type: str, item_id: str, source_id: int | None, text: str) -> Note:
    """Keep the patient's note on an item (`source_id` None: the item's only copy in the record)."""
    body = _clean(text)
    stored = record.get(item_type, item_id, source_id)
    if stored is None:
        raise NoteError(f"There is no {item_type}/{item_id} in the record to write a note on.")
    if source_id is None and len(record._query("SELECT 1 FROM resource WHERE type = ? AND id = ? LIMIT 2",
                                               [item_type, item_id])) > 1:  # fmt: skip
        raise NoteError(f"{item_type}/{item_id} is in the record from more than one source; say which source.")
    sid = stored.row.source_id
    keys, _ = _sources(record)
    person = _whose(record, sid, stored.row.subject)
    with record._transaction() as cur:
        cur.execute(
            "INSERT INTO annotation (source_key, item_type, item_id, person_id, text, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (keys[sid], item_type, item_id, person, body, _now()),
        )
        nid = cur.lastrowid
        record._audit_in(cur, "note-add", note=nid, item=f"{item_type}/{item_id}", source=sid)
    return find_note(record, nid)


def find_note(record: Record, note_id: int | str) -> Note:
    """A note by its number (any version)."""
    try:
        number = int(note_id)
    except (TypeError, ValueError):
        raise NoteError(f"{note_id!r} is not a note number.", action=Action.SEE_NOTES) from None
    found = _notes(record, "a.id = ?", [number])
    if not found:
        raise NoteError(f"There is no note {number}.", action=Action.SEE_NOTES)
    return found[0]


def _current(record: Record, note_id: int | str) -> Note:
    note = find_note(record, note_id)
    if note.deleted_at is not None:
        raise NoteError(f"Note {note.id} was deleted.")
    if note.replaced_by is not None:
        raise NoteError(f"Note {note.id} was changed since; its current version is note {_latest(record, note).id}.")
    return note


def _latest(record: Record, note: Note) -> Note:
    while note.replaced_by is not None:
        note = find_note(record, note.replaced_by)
    return note


def edit_note(record: Record, note_id: int | str, text: str) -> Note:
    """Change a note: a new version replaces it; the old one stays in the record's history."""
    body = _clean(text)
    old = _current(record, note_id)
    if body == old.text:
        return old
    with record._transaction() as cur:
        cur.execute(
            "INSERT INTO annotation (source_key, item_type, item_id, person_id, text, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (old.source_key, old.item_type, old.item_id, old.person_id, body, _now()),
        )
        nid = cur.lastrowid
        changed = cur.execute("UPDATE annotation SET replaced_by = ? WHERE id = ? AND replaced_by IS NULL "
                              "AND deleted_at IS NULL", (nid, old.id)).rowcount  # fmt: skip
        if changed != 1:
            raise NoteError(f"Note {old.id} was changed at the same time; look at it again.")
        record._audit_in(cur, "note-edit", note=nid, replaces=old.id, item=old.item)
    return find_note(record, nid)


def delete_note(record: Record, note_id: int | str) -> Note:
    """Delete a note: it is no longer shown or shared, and stays in the record's history as deleted."""
    old = _current(record, note_id)
    with record._transaction() as cur:
        cur.execute("UPDATE annotation SET deleted_at = ? WHERE id = ?", (_now(), old.id))
        record._audit_in(cur, "note-delete", note=old.id, item=old.item)
    return find_note(record, old.id)


def note_history(record: Record, note_id: int | str) -> list[Note]:
    """Every version of a note, oldest first (the one given, those it replaced and those that replaced it)."""
    note = find_note(record, note_id)
    everything = {n.id: n for n in _notes(record, "a.item_type = ? AND a.item_id = ? AND a.source_key = ?",
                                          [note.item_type, note.item_id, note.source_key])}  # fmt: skip
    replaced = {n.replaced_by: n.id for n in everything.values() if n.replaced_by is not None}
    first = note.id
    while first in replaced:
        first = replaced[first]
    chain = [everything[first]]
    while chain[-1].replaced_by is not None and chain[-1].replaced_by in everything:
        chain.append(everything[chain[-1].replaced_by])
    return chain


def notes_for(record: Record, item_type: str, item_id: str, source_id: int) -> list[Note]:
    """The current notes on one item of one source, oldest first."""
    keys, _ = _sources(record)
    key = keys.get(source_id)
    if key is None:
        return []
    return _notes(record, "a.item_type = ? AND a.item_id = ? AND a.source_key = ? AND a.replaced_by IS NULL "
                          "AND a.deleted_at IS NULL", [item_type, item_id, key])  # fmt: skip


def notes(record: Record, person: Person | None = None) -> list[Note]:
    """Every current note (of one person's items, with `person`), oldest first."""
    found = _notes(record, "a.replaced_by IS NULL AND a.deleted_at IS NULL", [])
    if person is None:
        return found
    return [n for n in found if n.person_id == person.id]


def noted_items(record: Record, keys: Sequence[tuple[int, str, str]] | None = None) -> set[tuple[int, str, str]]:
    """(source id, type, id) of every item with a current note (among `keys`, when given): what lists flag."""
    found: set[tuple[int, str, str]] = {
        (n.source_id, n.item_type, n.item_id) for n in notes(record) if n.source_id is not None
    }
    return found if keys is None else found & set(keys)


# --- search --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteMatch:
    """An item found by the patient's note on it: the item as list rows show it, and the note that matched."""

    row: ResourceRow
    note: Note


def search_notes(
    record: Record, text: str, *, limit: int = 50, where: str = "", params: Iterable[Any] = ()
) -> list[NoteMatch]:
    """The items whose current note holds every word typed (the last as a prefix), best match first, one per item.
    `where` (trusted SQL over `r`, from our own code) narrows the items, as Record.search's does; items removed at
    their source, or whose source is no longer in the record, are left out. The index (schema 15) holds only current
    versions, kept so by triggers on the annotation table."""
    query = fts_match(text)
    if query is None or limit <= 0:
        return []
    ranked = [int(nid) for (nid,) in record._query(
        "SELECT rowid FROM annotation_fts WHERE annotation_fts MATCH ? ORDER BY bm25(annotation_fts), rowid LIMIT ?",
        [query, limit * 4],
    )]  # fmt: skip
    if not ranked:
        return []
    found = {n.id: n for n in _notes(record, "a.id IN (SELECT value FROM json_each(?))", [json.dumps(ranked)])}
    best: dict[tuple[int, str, str], Note] = {}
    for nid in ranked:
        note = found.get(nid)
        if note is not None and note.current and note.source_id is not None:
            best.setdefault((note.source_id, note.item_type, note.item_id), note)
    if not best:
        return []
    keys = json.dumps([list(key) for key in best])
    clause = ("(r.source_id, r.type, r.id) IN (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))"
              + (f" AND ({where})" if where else ""))  # fmt: skip
    rows = {(r.source_id, r.resource_type, r.id): r for r in record.rows(where=clause, params=[keys, *params])}
    return [NoteMatch(rows[key], note) for key, note in best.items() if key in rows][:limit]
