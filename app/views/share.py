"""What the share screens show: the items a summary may hold (per section, with what is picked), the links made
before with who opened them, and a received summary. Plain Python over app.shares; no Flet here."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import ui_message
from app.record import PersonError, Record
from app.record.entries import ADDED_BY_YOU, is_own
from app.shares import ShareHost, candidates, carried_notes, counted, host_status, share_links
from sync.share import SECTIONS, ReceivedShare, ShareError
from sync.share.summary.story import PATAST

from .format import format_date, format_timestamp, tidy_name
from .people import Scope

__all__ = [
    "EXPIRY_CHOICES",
    "LinkSummary",
    "NotesCarried",
    "ReceivedSection",
    "SectionChoice",
    "ShareChoices",
    "link_summaries",
    "notes_carried",
    "received_summary",
    "share_choices",
]

EXPIRY_CHOICES = (("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"))


@dataclass(frozen=True)
class ItemChoice:
    key: str
    text: str  # display and date
    default: bool
    notes: int = 0  # the patient's notes on it (on any source's copy), which go along when it is shared
    own: bool = False  # the patient added it themselves ("Added by you"): it goes marked as theirs
    name: str = ""  # what it is, without date or source ("Prediabetes")


@dataclass(frozen=True)
class SectionChoice:
    name: str  # a section of SECTIONS, or `results@2019` for a year of older items
    title: str
    items: tuple[ItemChoice, ...]
    older: bool = False  # a year of older results or vital signs, shown folded


@dataclass(frozen=True)
class ShareChoices:
    selection: Any  # app.shares.Selection, None when there is nothing to share
    sections: tuple[SectionChoice, ...]
    problem: str | None = None  # why there is nothing to share

    def default_keys(self) -> set[str]:
        return set(self.selection.picked) if self.selection is not None else set()


def share_choices(record: Record, scope: Scope) -> ShareChoices:
    try:
        selection = candidates(record, scope.person)
    except (ShareError, PersonError) as exc:  # an empty record can still open links others shared
        return ShareChoices(None, (), ui_message(exc))
    sections = []
    noted = carried_notes(record, selection.items)
    _item = functools.partial(_choice, noted)
    for name in selection.section_names():
        found = selection.in_section(name)
        recent = [c for c in found if not c.older]
        if recent:
            sections.append(SectionChoice(name, SECTIONS[name].title, tuple(_item(c) for c in recent)))
        # Older results and vital signs: one group per year, newest year first, nothing ticked.
        years: dict[str, list[Any]] = {}
        for c in found:
            if c.older:
                years.setdefault((c.date or "")[:4] or "undated", []).append(c)
        for year in sorted(years, reverse=True):
            title = f"{SECTIONS[name].title} from {year}" if year != "undated" else f"{SECTIONS[name].title}, undated"
            sections.append(SectionChoice(f"{name}@{year}", title, tuple(_item(c) for c in years[year]), older=True))
    return ShareChoices(selection, tuple(sections))


def _choice(noted: dict[str, int], c: Any) -> ItemChoice:
    mine = f" · {ADDED_BY_YOU}" if any(is_own(source) for source in c.sources) else ""
    # Marked as the patient's in the share: the copy that goes is one they wrote (patient-asserted), not only one of
    # the sources that state the item.
    meta = c.resource.get("meta")
    security = meta.get("security", []) if isinstance(meta, dict) else []
    own = any(isinstance(m, dict) and (m.get("system"), m.get("code")) == PATAST for m in security)
    # Named as the summary names it: no SNOMED tag such as "(disorder)" (the shared copy keeps the source's text).
    name = tidy_name(c.display)
    text = name + (f" · {format_date(c.date)}" if c.date else "") + mine
    return ItemChoice(c.key, text, c.default, noted.get(c.key, 0), own, name)


@dataclass(frozen=True)
class NotesCarried:
    """What the patient's own words add to a share of the items picked: the screen says it above the Share button."""

    notes: int  # the patient's notes that go along (each beside the item it is on)
    items: int  # on how many of the picked items
    names: tuple[str, ...]  # those items, as the list names them
    left_out: int  # notes on items offered but not picked: they stay in the record
    own_entries: int  # picked items the patient added themselves, shared marked as theirs
    sentence: str  # all of it in words; empty when the share carries nothing of the patient's own

    def __bool__(self) -> bool:
        return bool(self.notes or self.own_entries)


def notes_carried(choices: ShareChoices, picked: Sequence[str] | set[str]) -> NotesCarried:
    """How many of the patient's notes go along with the picked items, on which, how many stay behind, and how many
    picked items are entries of their own. Both kinds of share (a summary for a doctor, a check-in) carry a note
    beside its item, marked as written by the patient (patient-asserted)."""
    chosen = set(picked)
    items = [i for s in choices.sections for i in s.items]
    with_notes = [i for i in items if i.key in chosen and i.notes]
    count = sum(i.notes for i in with_notes)
    left_out = sum(i.notes for i in items if i.key not in chosen)
    own = sum(1 for i in items if i.key in chosen and i.own)
    names = tuple(i.name or i.text for i in with_notes)
    parts = []
    if count:
        yours = "Your note" if count == 1 else f"Your {count} notes"
        if len(with_notes) == 1:
            parts.append(f"{yours} on {names[0]} {'goes' if count == 1 else 'go'} along, beside it and marked as "
                         "written by you.")  # fmt: skip
        else:
            parts.append(f"{yours} on {len(with_notes)} items go along, each beside its item and marked as written "
                         "by you.")  # fmt: skip
    if own:
        parts.append(f"{_plural(own, 'item')} you added yourself {'goes' if own == 1 else 'go'} marked as yours.")
    if left_out:
        parts.append(f"{_plural(left_out, 'note')} on items you did not pick {'stays' if left_out == 1 else 'stay'} "
                     "here.")  # fmt: skip
    return NotesCarried(count, len(with_notes), names, left_out, own, " ".join(parts))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class LinkSummary:
    link_id: str
    short_id: str
    title: str
    status: str
    made: str
    expires: str
    contents: str
    accesses: tuple[str, ...]
    active: bool


def link_summaries(record: Record, host: ShareHost | None, *, now: float | None = None) -> list[LinkSummary]:
    moment = time.time() if now is None else now
    out = []
    for link in share_links(record):
        status = host_status(host, link, moment)
        expires = format_timestamp(_iso(link.exp)) if link.exp else "never"
        contents = ", ".join(counted(s, n) for s, n in link.sections.items())
        out.append(LinkSummary(
            link.link_id, link.short_id, link.label or f"Link {link.short_id}", status,
            format_timestamp(link.created_at), expires, contents + (" · passcode" if "P" in link.flag else "")
            + (" · for a check-in scanner" if "U" in link.flag else ""),
            tuple(a.sentence() for a in link.accesses), status == "active",
        ))  # fmt: skip
    return out


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class ReceivedSection:
    title: str
    rows: tuple[tuple[str, str], ...]  # (item, details · status · date)
    empty: str | None


def received_summary(received: ReceivedShare) -> tuple[str, list[ReceivedSection]]:
    from app.shares import received_sections

    sections: list[ReceivedSection] = []
    for title, _item, rows, empty in received_sections(received):
        lines = tuple((r.item, " · ".join(p for p in (r.details, r.status, r.date, r.source and f"from {r.source}") if p))
                      for r in rows)  # fmt: skip
        sections.append(ReceivedSection(title, lines, empty))
    return received.label or "Shared summary", sections


def picked_counts(choices: ShareChoices, picked: Sequence[str] | set[str]) -> dict[str, int]:
    chosen = set(picked)
    return {s.name: sum(1 for i in s.items if i.key in chosen) for s in choices.sections}
