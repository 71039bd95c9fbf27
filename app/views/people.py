"""Whose record is shown: a record can hold more than one person (a parent keeping a child's records too).

A person is every Patient resource with the same name and birth date, whichever portal it came from; the views
narrow their queries to that person's `subject` references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.record import Record

from .format import tidy_name

__all__ = ["Person", "Scope", "people"]


@dataclass(frozen=True)
class Person:
    name: str
    birth_date: str | None
    gender: str | None
    subjects: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.name}|{self.birth_date or ''}"


@dataclass(frozen=True)
class Scope:
    """The slice of the record a view shows: one person, or everything when `person` is None."""

    person: Person | None = None

    def clause(self) -> tuple[str, tuple[Any, ...]]:
        current = "r.removed_at IS NULL"  # what a portal no longer serves is not shown as current
        if self.person is None:
            return current, ()
        marks = ", ".join("?" for _ in self.person.subjects)
        return f"{current} AND r.subject IN ({marks})", self.person.subjects

    def where(self, extra: str = "", params: tuple[Any, ...] = ()) -> tuple[str, tuple[Any, ...]]:
        """`extra` AND this scope, as a where-clause for Record.rows."""
        mine, mine_params = self.clause()
        parts = [p for p in (extra, mine) if p]
        return " AND ".join(f"({p})" for p in parts), (*params, *mine_params)

    def admits(self, subject: str | None) -> bool:
        return self.person is None or subject in self.person.subjects


def people(record: Record) -> list[Person]:
    """Everyone the record holds, in the order they first arrived."""
    rows = record._query(
        "SELECT id, display, json_extract(raw, '$.birthDate'), json_extract(raw, '$.gender') "
        "FROM resource WHERE type = 'Patient' ORDER BY rowid"
    )
    grouped: dict[tuple[str, str | None], list[Any]] = {}
    for rid, display, birth, gender in rows:
        name = tidy_name(display or "Unnamed patient")
        entry = grouped.setdefault((name, birth), [gender, []])
        entry[1].append(f"Patient/{rid}")
    return [
        Person(name, birth, gender, tuple(subjects)) for (name, birth), (gender, subjects) in grouped.items()
    ]
