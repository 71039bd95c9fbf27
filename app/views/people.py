"""Whose record is shown: a record can hold more than one person (a parent keeping a child's records too).

Who a person is is decided in one place, app.record.people; a view narrows its queries to the person's
(source, subject) pairs, so a resource of another person (or of nobody Carry could place) never shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.record import Person, Proposal, Record, Subjects, keep_apart, people, proposals, unassigned
from app.record.view_queries import scope_where

__all__ = ["PeopleChoices", "Person", "Scope", "keep_apart", "people", "people_choices"]


@dataclass(frozen=True)
class PeopleChoices:
    """What "Whose record" shows: everyone, the pairs that may be one person, how many items are nobody's."""

    people: tuple[Person, ...]
    proposals: tuple[Proposal, ...]
    unassigned: int


def people_choices(record: Record) -> PeopleChoices:
    everyone = people(record)
    return PeopleChoices(tuple(everyone), tuple(proposals(record, everyone)), len(unassigned(record, everyone)))


@dataclass(frozen=True)
class Scope:
    """The slice of the record a view shows: one person, or everything when `person` is None (only for a record
    that holds nobody yet: the app always shows one person when there is one)."""

    person: Person | None = None

    @property
    def subjects(self) -> Subjects | None:
        return self.person.subjects if self.person is not None else None

    def where(self) -> tuple[str, tuple[Any, ...]]:
        """This scope's current resources, as a where-clause for Record.rows and Record.search."""
        return scope_where(self.subjects)

    def admits(self, source_id: int, subject: str | None) -> bool:
        return self.person is None or self.person.admits(source_id, subject)
