"""`carry`: a thin command line over the same services the UI uses.

Exit status: 0 on success; 1 with a one-line message on stderr for every user error; 2 for usage errors.
The passphrase comes from $CARRY_PASSPHRASE (for scripts) or a prompt, never from an argument.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sync.atomic import atomic_writer, write_atomic
from sync.untrusted import plain_text

from .errors import UsageError, cli_message
from .locations import record_path, share_host_path

# Each command imports what it needs when it runs: the record stack loads the FHIR models (a fifth of a second),
# and `carry --help` or a command that never opens the record should not wait for them.
if TYPE_CHECKING:
    from .record import Person, Record, ResourceRow

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]
_UNSAFE_IN_JSON = re.compile("[\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_SHOWN_LIMIT = 1000  # our own sentences are far shorter; a portal's 3,000-line error_description is cut here


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors: one line, exit 2, as argparse does, minus the noise
        self.exit(2, f"carry: {message} (see `{self.prog} --help`)\n")


# --- passphrases -------------------------------------------------------------------------------------------------

# Secrets a script may give in the environment. While a command runs they are held here, not in os.environ, so no
# process it starts (validation workers, a browser, a helper) inherits them.
_SECRET_NAMES = (
    "CARRY_PASSPHRASE", "CARRY_NEW_PASSPHRASE", "CARRY_SHARE_PASSCODE", "CARRY_CLIENT_SECRET", "CARRY_SERVER_PASSWORD",
    "CARRY_HOST_CREDENTIAL",
)  # fmt: skip
_held_secrets: dict[str, str] = {}


def _secret(name: str) -> str | None:
    return _held_secrets.get(name) or os.environ.get(name)


@contextmanager
def _secrets_held() -> Iterator[None]:
    """Take the secrets out of the environment for the command's run (put back after, for callers in-process)."""
    taken = {name: os.environ.pop(name) for name in _SECRET_NAMES if name in os.environ}
    _held_secrets.update(taken)
    try:
        yield
    finally:
        for name in taken:
            _held_secrets.pop(name, None)
        os.environ.update(taken)



def _prompt(label: str, env_name: str = "CARRY_PASSPHRASE") -> str:
    from .record import PassphraseRefused

    if not sys.stdin.isatty():
        raise PassphraseRefused(f"{label} needed: set {env_name} or run carry in a terminal.")
    return getpass.getpass(f"{label}: ")


def _passphrase() -> str:
    env = _secret("CARRY_PASSPHRASE")
    return env if env else _prompt("Passphrase")


def _new_passphrase(env_name: str) -> str:
    from .record import MIN_PASSPHRASE, PassphraseRefused

    env = _secret(env_name)
    if env:
        return env
    print(
        f"Choose a passphrase of at least {MIN_PASSPHRASE} characters; several unrelated words are strong and easy to "
        "remember.\nIf you lose it, nobody can open your record, not even Carry.",
        file=sys.stderr,
    )
    first = _prompt("New passphrase", env_name)
    if len(first) < MIN_PASSPHRASE:
        raise PassphraseRefused(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")
    if _prompt("Repeat it", env_name) != first:
        raise PassphraseRefused("The two passphrases were not the same; nothing was changed.")
    return first


@contextmanager
def _open(args: argparse.Namespace, passphrase: str | None = None) -> Iterator[Record]:
    from .record import Record

    record = Record.open(record_path(args.record), passphrase or _passphrase())
    try:
        if not record.read_only:  # a read-only record can be read, not added to
            _merge_share_access(record)
        yield record
    finally:
        record.close()


def _merge_share_access(record: Record) -> None:
    """On every unlock: who opened the patient's shared links since last time, into the record's audit log."""
    from .locations import config_dir

    if not share_host_path().exists() and not (config_dir() / "share.json").exists():
        return  # nothing ever shared here: spare every command the sharing imports
    from sync.errors import CarryError

    from .shares import ShareHost, merge_access

    try:
        hosts = ShareHost.every(record)
    except CarryError as exc:
        print(f"carry: could not read who opened your shared links ({_shown(cli_message(exc))})", file=sys.stderr)
        return
    for host in hosts:
        try:
            added = merge_access(record, host)
        except CarryError as exc:
            print(f"carry: could not read who opened your shared links ({_shown(cli_message(exc))})", file=sys.stderr)
            continue
        for entry in added:
            print(f"carry: your shared link {entry.link_id[:8]} was {_shown(entry.sentence())}", file=sys.stderr)


# --- output ------------------------------------------------------------------------------------------------------


def _shown(text: object) -> str:
    """Text that may have come from outside (a portal's error, a file's content or name, a share recipient), as one
    printable line: no escape sequences, no line floods, nothing an encoder chokes on."""
    return plain_text(text, limit=_SHOWN_LIMIT)



def _print_json(value: Any, out: TextIO | None = None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    # JSON escapes only C0 controls; C1 controls (CSI), bidi overrides and lone surrogates from outside text would
    # reach the terminal as they are. Escaped, they keep the same value for a JSON reader.
    (out or sys.stdout).write(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def _print_rows(rows: Sequence[ResourceRow], noted: set[tuple[int, str, str]] | None = None) -> None:
    if not rows:
        print("Nothing found.")
        return
    width = max(len(r.resource_type) for r in rows)
    for row in rows:
        date = _shown((row.date or "")[:10]).ljust(10)
        flag = f"  [INVALID: {_shown(row.invalid_reason)}]" if not row.valid else ""
        flag += "  [your note]" if noted and (row.source_id, row.resource_type, row.id) in noted else ""
        shows_status = row.status and row.resource_type in ("Condition", "AllergyIntolerance")
        status = f" ({_shown(row.status)})" if shows_status else ""
        print(f"{date}  {row.resource_type.ljust(width)}  {_shown(row.display)}{status}{flag}")


# --- commands ----------------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from .record import Record, RecordError

    path = record_path(args.record)
    if path.exists():
        raise RecordError(f"There is already a record at {path}.")
    passphrase = _new_passphrase("CARRY_PASSPHRASE")
    Record.create(path, passphrase).close()
    print(f"Created an encrypted record at {path}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .record import ImportRefused
    from .record.imports import Whose, import_path

    failed = 0
    reports = []
    if (args.title or args.date) and len(args.files) > 1:
        raise UsageError("--title and --date describe one document; import one file at a time with them.")
    with _open(args) as record:
        for name in args.files:
            try:
                report = import_path(record, name, source=args.source, online=not args.offline,
                                     whose=Whose(person=args.person), title=args.title, date=args.date)
            except ImportRefused as exc:
                failed += 1
                print(f"carry: {_shown(cli_message(exc))}", file=sys.stderr)
                continue
            reports.append(report)
            if not args.json:
                c = report.counts
                print(
                    f"{_shown(report.origin)}: {c.imported:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged"
                    + (f", {c.invalid:,} failed validation (kept and flagged)" if c.invalid else "")
                )
                for rtype, rid, reason in c.invalid_items:
                    print(f"  invalid {rtype}/{_shown(rid)}: {_shown(reason)}")
                for note in getattr(report, "notes", ()):
                    print(f"  {_shown(note)}")
            _tidied(record, quiet=args.json)
    if args.json:
        _print_json([r.as_json() for r in reports])
    return 1 if failed else 0


def _person(record: Record, args: argparse.Namespace) -> Person | None:
    """The person --person names; the only one when none is named (a record of several: which persons exist is
    said instead of guessing); None for a record that holds nobody yet."""
    from .record import choose_person

    return choose_person(record, getattr(args, "person", None))


def _scoped(
    record: Record, args: argparse.Namespace, extra: tuple[str, tuple[Any, ...]] = ("", ())
) -> tuple[str, tuple[Any, ...]]:
    """A where-clause over `r` for what `list`, `search` and `export` show (and `extra`): with --person, that
    person's resources and the practitioners, organisations, … they refer to; --unassigned, the resources about a
    patient Carry cannot place; neither, the whole record when it holds one person (or nobody), and a record of
    several persons says who they are instead of guessing."""
    from .record import people, person_clause, unassigned
    from .record.view_queries import all_of, rowids_where

    clause: str = ""
    params: tuple[Any, ...] = ()
    if getattr(args, "unassigned", False):
        if getattr(args, "person", None):
            raise UsageError("--unassigned lists what belongs to nobody; use it without --person.")
        clause, params = rowids_where([r.rowid for r in unassigned(record)])
    elif getattr(args, "person", None) or len(people(record)) > 1:
        person = _person(record, args)
        if person is not None:
            clause, params = person_clause(record, person)
            print(f"The record of {person.name}.", file=sys.stderr)
    return all_of(extra, (clause, params))


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as record:
        where, params = _scoped(record, args)
        if args.out:
            target = Path(args.out)
            if target.is_dir():
                raise UsageError(f"{target} is a directory; give a file name for the export.")
            try:
                with atomic_writer(target) as out:  # 0600: health data, unencrypted at the patient's request
                    count = record.export(out, resource_type=args.type, where=where, params=params, ndjson=args.ndjson)
            except OSError as exc:
                raise UsageError(f"Cannot write {target}: {exc.strerror}.") from None
            print(f"Exported {count} resources to {target}.", file=sys.stderr)
            print(
                "The export is not encrypted: keep it somewhere only you can read, and delete it when done.",
                file=sys.stderr,
            )
        else:
            record.export(sys.stdout.buffer, resource_type=args.type, where=where, params=params, ndjson=args.ndjson)
            if not args.ndjson:
                sys.stdout.buffer.write(b"\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .record.view_queries import invalid_where
    from .record import noted_items

    if getattr(args, "merged", False):
        return _list_merged(args)
    with _open(args) as record:
        where, params = _scoped(record, args, invalid_where() if args.invalid else ("", ()))
        rows = record.rows(args.type, where=where, params=params, limit=args.limit)
        noted = noted_items(record)
    if args.json:
        _print_json([{**r.as_json(), "noted": (r.source_id, r.resource_type, r.id) in noted} for r in rows])
    else:
        _print_rows(rows, noted)
    return 0


# --- one record across providers: merged facts, the patient's corrections, the medication list ------------------


def _list_merged(args: argparse.Namespace) -> int:
    from .record import facts

    if args.invalid:
        raise UsageError("--invalid lists original resources; use it without --merged.")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be 1 or more.")
    with _open(args) as record:
        person = _person(record, args)
        found = facts(record, [args.type] if args.type else None, subjects=person.subjects if person else None)
    found = found[: args.limit] if args.limit else found
    if args.json:
        _print_json([f.as_json() for f in found])
        return 0
    if not found:
        print("Nothing found.")
        return 0
    width = max(len(f.resource_type) for f in found)
    for fact in found:
        _print_fact_line(fact, width)
    return 0


def _print_fact_line(fact: Any, width: int) -> None:
    date = _shown((fact.date or "")[:10]).ljust(10)
    status = f" ({_shown(fact.status)})" if fact.status and fact.resource_type not in ("Observation", "Encounter") else ""
    print(f"{date}  {fact.resource_type.ljust(width)}  {_shown(fact.display)}{status}  [{fact.fact_id}]")
    if len(fact.members) > 1:
        sources = ", ".join(f"{m.source}{' (newest)' if m.newest else ''}" for m in fact.members)
        print(f"{'':10}  {'':{width}}  from {len(fact.members)} records: {sources}")
    for match in fact.possible_matches:
        print(f"{'':10}  {'':{width}}  possibly the same as [{match.fact_id}] {match.display} ({match.reason})")


def cmd_facts(args: argparse.Namespace) -> int:
    from .record import confirm, facts, find_fact, reset, split

    with _open(args) as record:
        if args.action == "show":
            if args.more:
                raise UsageError("`carry facts show` takes one fact id.")
            fact = find_fact(record, args.fact)
            if args.json:
                _print_json(fact.as_json())
                return 0
            _print_fact_line(fact, len(fact.resource_type))
            print(f"Grouped by: {', '.join(fact.reasons) or 'one record only'} ({fact.confidence})")
            for number, m in enumerate(fact.members, 1):
                newest = "  newest" if m.newest else ""
                print(f"  {number}. {m.source}: {m.resource_type}/{m.id}  {(m.date or '')[:10]}  {m.status or ''}{newest}")
            return 0
        if args.action == "confirm":
            pool = facts(record)
            merged = confirm(record, *[find_fact(record, f, within=pool) for f in [args.fact, *args.more]])
            print(f"Confirmed: {merged.display} is one fact [{merged.fact_id}] from {len(merged.members)} records.")
            return 0
        if args.action == "split":
            parts = split(record, args.fact, args.more or None)
            print(f"Split into {len(parts)} facts:")
            for part in parts:
                print(f"  [{part.fact_id}] {part.display}: {', '.join(m.source for m in part.members)}")
            return 0
        result = reset(record, args.fact)
        print("Your decisions about it are forgotten; Carry groups it on its own again.")
        if result is not None:
            print(f"  [{result.fact_id}] {result.display}: {len(result.members)} records")
    return 0


def cmd_meds(args: argparse.Namespace) -> int:
    from .record import reconcile_medications

    with _open(args) as record:
        person = _person(record, args)
        meds = reconcile_medications(record, subjects=person.subjects if person else None)
    if args.json:
        _print_json(meds.as_json())
        return 0
    for flag in meds.allergy_flags:
        print(f"ALLERGY: {flag.message}")
    for conflict in meds.conflicts:
        print(f"CHECK: {conflict.message}")
    for title, entries in (("Current medications", meds.current), ("Stopped", meds.stopped)):
        print(f"{title} ({len(entries)}):")
        if not entries:
            print("  none recorded")
        for e in entries:
            when = f"last ordered {e.last_ordered[:10]}" if e.last_ordered else "no date"
            who = f" by {e.last_prescriber}" if e.last_prescriber else ""
            fill = f", last filled {e.last_fill[:10]}" if e.last_fill else ""
            print(f"  {e.display} ({e.status or 'no status'}; {when}{who}{fill}) from {', '.join(e.sources)}")
    return 0


# The options of `carry add` and `carry edit`, each the draft field it fills (app.record.entries).
_ENTRY_OPTIONS = ("value", "unit", "when", "note", "text", "name", "substance", "dose", "since", "until", "onset",
                  "ended", "severity", "reaction", "criticality", "same_as")  # fmt: skip


def cmd_add(args: argparse.Namespace) -> int:
    from .record.entries import Allergy, Medicine, Note, Reading, Symptom, add_entry

    given = {k: getattr(args, k) for k in _ENTRY_OPTIONS if getattr(args, k, None) is not None}
    words = list(args.words)
    if args.kind == "reading":
        if len(words) != 2:
            raise UsageError("Give what you measured and the value: carry add reading blood-pressure 120/80.")
        draft: Any = Reading(words[0], words[1], given.get("unit"), given.get("when"), given.get("note", ""))
    else:
        text = " ".join(words)
        common = {k: v for k, v in given.items() if k in ("note", "same_as")}
        if args.kind == "symptom":
            draft = Symptom(text, given.get("onset"), given.get("severity"), given.get("ended"), **common)
        elif args.kind == "note":
            draft = Note(text, given.get("when"))
        elif args.kind == "medicine":
            draft = Medicine(text, given.get("dose", ""), given.get("since"), given.get("until"), **common)
        else:
            draft = Allergy(text, given.get("reaction", ""), "intolerance" if args.intolerance else "allergy",
                            given.get("criticality"), **common)  # fmt: skip
    with _open(args) as record:
        entry = add_entry(record, draft, person=args.person)
    if args.json:
        _print_json(entry.as_json())
    else:
        print(f"Added {entry.ref}: {_shown(entry.display)}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    from .record.entries import edit_entry

    changes = {k: getattr(args, k) for k in _ENTRY_OPTIONS if getattr(args, k, None) is not None}
    if args.intolerance:
        changes["kind"] = "intolerance"
    if not changes:
        raise UsageError("Say what to change, for example --value 125/82 or --note TEXT.")
    field_names = {"text": ("text", "name", "substance")}
    with _open(args) as record:
        from .record.entries import draft_of, entry_history

        current = draft_of(entry_history(record, args.entry)[-1].resource)
        if "text" in changes:  # --text is the words of any kind: a symptom's, a note's, a medicine's, an allergy's
            word = changes.pop("text")
            changes[next(f for f in field_names["text"] if hasattr(current, f))] = word
        entry = edit_entry(record, args.entry, **changes)
    if args.json:
        _print_json(entry.as_json())
    else:
        print(f"Saved version {entry.version} of {entry.ref}: {_shown(entry.display)}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from .record.entries import delete_entry

    with _open(args) as record:
        entry = delete_entry(record, args.entry)
    print(f"Deleted {entry.ref} ({_shown(entry.display)}); its history is kept: carry entries --history {entry.ref}")
    return 0


def cmd_undelete(args: argparse.Namespace) -> int:
    from .record.entries import restore_entry

    with _open(args) as record:
        entry = restore_entry(record, args.entry)
    print(f"Restored {entry.ref} ({_shown(entry.display)}) as version {entry.version}; its history is kept.")
    return 0


def cmd_entries(args: argparse.Namespace) -> int:
    from .record.entries import describe, entry_history, own_entries

    with _open(args) as record:
        if args.history:
            versions = entry_history(record, args.history)
            if args.json:
                _print_json([v.as_json() for v in versions])
                return 0
            for v in versions:
                print(f"v{v.version} {v.action} {v.saved_at}: {_shown(describe(v.draft))}")
            return 0
        person = None if args.deleted else _person(record, args)
        found = own_entries(record, person, deleted=args.deleted)
    if args.json:
        _print_json([e.as_json() for e in found])
        return 0
    if not found:
        print("No entries of your own yet; add one with `carry add`." if not args.deleted else "Nothing deleted.")
    for e in found:
        print(f"{(e.date or '')[:16]:16}  {e.ref}  {_shown(e.display)}  (v{e.version}{', deleted' if e.deleted else ''})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .record import noted_items, search_notes

    text = " ".join(args.text)
    with _open(args) as record:
        where, params = _scoped(record, args)
        rows = record.search(text, limit=args.limit, where=where, params=params)
        # Items found only by the patient's note on them come after those found by themselves.
        seen = {(r.source_id, r.resource_type, r.id) for r in rows}
        rows += [m.row for m in search_notes(record, text, limit=args.limit, where=where, params=params)
                 if (m.row.source_id, m.row.resource_type, m.row.id) not in seen][: max(0, args.limit - len(rows))]  # fmt: skip
        noted = noted_items(record)
    if args.json:
        _print_json([r.as_json() for r in rows])
    else:
        _print_rows(rows, noted)
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    from .record import (
        choose_person,
        keep_apart,
        merge_people,
        people,
        proposals,
        rename_person,
        split_person,
        unassigned,
    )

    with _open(args) as record:
        if args.action in ("merge", "apart"):
            if len(args.args) != 2:
                raise UsageError(f"Name the two persons: `carry people {args.action} 1 2`.")
            keep, other = (choose_person(record, ref) for ref in args.args)
            assert keep is not None and other is not None  # a named person is found or refused
            if args.action == "apart":
                keep_apart(record, keep, other)
                print(f"{keep.name} ({keep.id}) and {other.name} ({other.id}) stay two persons.")
                return 0
            merged = merge_people(record, keep, other)
            print(f"{merged.name} is now one person, from {', '.join(merged.sources)}.")
            return 0
        if args.action == "split":
            if not args.args:
                raise UsageError("Name the person to split: `carry people split 1 [RECORD...]`.")
            person = choose_person(record, args.args[0])
            assert person is not None
            kept, new = split_person(record, person, args.args[1:])
            print(f"Split: {kept.describe()}; {new.describe()}.")
            return 0
        if args.action == "rename":
            if len(args.args) != 2:
                raise UsageError("Name the person and the new name: `carry people rename 1 \"Sam Quarrington\"`.")
            person = choose_person(record, args.args[0])
            assert person is not None
            renamed = rename_person(record, person, args.args[1])
            print(f"Person {renamed.id} is now called {renamed.name}.")
            return 0
        if args.args:
            raise UsageError("`carry people` takes no arguments; `carry people merge|split|rename ...` change them.")
        everyone = people(record)
        maybe = proposals(record, everyone)
        loose = unassigned(record, everyone)
    if args.json:
        _print_json({"people": [p.as_json() for p in everyone], "proposals": [m.as_json() for m in maybe],
                     "unassigned": len(loose)})  # fmt: skip
        return 0
    if not everyone:
        print("Nobody yet: import a file or connect a portal first.")
    for person in everyone:
        print(person.describe())
        for number, m in enumerate(person.members, 1):
            born = f", born {m.birth_date}" if m.birth_date else ""
            print(f"   {number}. {m.source}: {m.patient} ({m.name or 'no name'}{born})")
    for pair in maybe:
        print(f"Perhaps one person: {pair.a.id} and {pair.b.id} have the same name and birth date; "
              f"`carry people merge {pair.a.id} {pair.b.id}` makes them one, `apart` keeps them two.")  # fmt: skip
    if loose:
        print(f"Unassigned: {len(loose)} resources name a patient Carry cannot place (`carry list --unassigned`).")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with _open(args) as record:
        info = record.info()
    if args.json:
        _print_json(info.as_json())
        return 0
    print(f"Record:  {info.path}")
    print(f"Schema:  version {info.schema_version}")
    print(f"Size:    {info.size_bytes / 1_000_000:.1f} MB")
    print(f"Resources: {info.total}" + (f" ({info.invalid} failed validation)" if info.invalid else ""))
    for rtype, n in info.counts.items():
        print(f"  {rtype.ljust(24)} {n}")
    print("Sources:")
    for src in info.sources:
        where = f" {src['base_url']}" if src["base_url"] else ""
        print(f"  {src['name']} ({src['kind']}{where}): {src['resources']} resources, last {src['last_run'] or 'never'}")
    return 0


def cmd_passphrase(args: argparse.Namespace) -> int:
    with _open(args) as record:
        new = _new_passphrase("CARRY_NEW_PASSPHRASE")
        record.change_passphrase(new)
    print("Passphrase changed. Use the new one from now on.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from .record.backup import make_backup

    passphrase = _passphrase()
    with _open(args, passphrase) as record:
        report = make_backup(record, args.path, passphrase)
    print(report.sentence("Backed up your record to"))
    print("The backup is encrypted with your passphrase; keep it somewhere other than this device.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from .record.backup import restore_backup

    target = record_path(args.record)
    report = restore_backup(args.path, _passphrase(), target, replace=args.replace)
    print(report.sentence("Restored your record at"))
    if report.replaced is not None:
        print(f"The record that was there is kept, still encrypted, at {report.replaced}.")
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    import asyncio

    from sync.directory import STATES, Directory, RefreshFailed, refresh, sandbox_provider, state_code

    text = " ".join(args.text)
    if args.limit < 1:
        raise UsageError("--limit must be 1 or more.")
    if args.state and state_code(args.state) not in STATES:
        raise UsageError(f"{args.state!r} is not a US state; give its two-letter code, such as MA.")
    status = 0
    if args.refresh:
        try:
            report = asyncio.run(refresh())
        except RefreshFailed as exc:
            print(f"carry: {exc}", file=sys.stderr)
            status = 1
        else:
            print(report.summary(), file=sys.stderr)
            status = 1 if report.failed else 0
        if not (text or args.state or args.vendor):
            return status
    directory = Directory.load().with_extra([sandbox_provider(note="start it with `carry sandbox`")])
    for warning in directory.warnings:
        print(f"carry: {warning}", file=sys.stderr)
    found = directory.search(text, state=args.state, vendor=args.vendor, limit=args.limit)
    if args.json:
        _print_json([p.as_json() for p in found])
        return status
    if not (text or args.state or args.vendor):
        downloaded = sum(not info.shipped for info in directory.lists)
        hint = "" if downloaded else " `carry providers --refresh` downloads the vendors' lists (Epic, Oracle Health, ...)."
        print(f"{len(directory)} providers in the directory; search with `carry providers NAME`.{hint}", file=sys.stderr)
    if not found:
        print("No provider matches that; try fewer or shorter words.")
    for p in found:
        where = p.place.label()
        print(" — ".join(part for part in (p.name, where, p.vendor) if part))
        print(f"    {p.fhir_base}" + (f"  ({p.note})" if p.note else ""))
    return status


def cmd_sandbox(args: argparse.Namespace) -> int:
    import signal
    import threading

    from sync.sandbox import ClientRegistration, SandboxServer, load_clients

    clients = load_clients(args.clients) if args.clients else []
    clients += [ClientRegistration(client_id, (uri,)) for client_id, uri in args.client or []]
    if args.token_lifetime < 1:
        raise UsageError("--token-lifetime must be at least 1 second.")
    if not 0 <= args.latency <= 60:
        raise UsageError("--latency must be between 0 and 60 seconds.")
    server = SandboxServer(
        args.data or None, host=args.host, port=args.port, access_token_lifetime=args.token_lifetime, clients=clients,
        latency=args.latency, registration=args.registration,
    )  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        print(f"base_url {server.base_url}")
        print(f"client_id {server.demo_client_id}")
        for login in server.logins:
            print(f"patient {login.full_name}: username {login.username} password {login.password}")
        sys.stdout.flush()
        print("Carry sandbox portal running (synthetic patients only). Press Ctrl+C to stop.", file=sys.stderr)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


# --- portals: connect, sync, sources, disconnect -----------------------------------------------------------------


def _source_status(conn: Any) -> str:
    status = {"connected": "connected", "needs-reconnect": "NEEDS RECONNECT", "disconnected": "disconnected"}[conn.status]
    if conn.status == "connected" and not conn.reached:
        status = f"NOT REACHED last time: {_shown(conn.status_reason or '')}"
    last = f"last sync {conn.last_sync} ({conn.last_outcome})" if conn.last_sync else "never synced"
    pending = ", an interrupted sync will resume" if conn.sync_pending else ""
    return f"{status}; {last}{pending}; {conn.resources} resources"


def cmd_connect(args: argparse.Namespace) -> int:
    import asyncio
    import webbrowser

    from .portals import Portals

    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds.")
    if args.callback_port is not None and not 1 <= args.callback_port <= 65535:
        raise UsageError("--callback-port must be a port number from 1 to 65535.")
    scopes = args.scopes.split() if args.scopes else None
    if args.print_redirect:
        # Needs no record and no network: what to register at the portal's developer site.
        from .portals import loopback_redirect_uri

        print(loopback_redirect_uri(args.base_url, args.callback_port))
        return 0

    def show(url: str) -> None:
        print(f"Open this address in your browser and log in to your portal:\n{url}", flush=True)
        if not (args.no_browser or os.environ.get("CARRY_NO_BROWSER")):
            webbrowser.open(url)
        print(f"Waiting up to {args.timeout:g} seconds for the portal to send you back to Carry...", file=sys.stderr)

    with _open(args) as record:
        portals = Portals(record)
        conn = asyncio.run(
            portals.connect_loopback(
                args.base_url,
                on_authorize_url=show,
                client_id=args.client_id,
                name=args.name,
                client_secret=_secret("CARRY_CLIENT_SECRET") or None,
                scopes=scopes,
                timeout=args.timeout,
                callback_port=args.callback_port,
                on_note=lambda text: print(text, file=sys.stderr, flush=True),
            )
        )
    print(f"Connected {conn.name} (patient {conn.patient_id}) as source {conn.id}.")
    print(f"Access granted: {conn.granted_scope}")
    print(f"Run `carry sync {conn.id}` to pull your records.")
    return 0


def _tidied(record: Record, *, quiet: bool = False) -> None:
    """Wait for the rewrite of the record file that follows a big import or sync (on a thread of the record's), saying
    how far it is on stderr (`quiet`: saying nothing)."""
    line = None if quiet else _ProgressLine()
    record.wait_for_rewrite(line.tidying if line else None)
    if line:
        line.close()


class _ProgressLine:
    """One line per finished search on stderr (a live line when stderr is a terminal)."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.per_type: dict[str, list[int]] = {}
        self.tidied = -1  # the rewrite's percent said last

    def __call__(self, event: Any) -> None:
        if event.phase != "search" or event.resource_type is None:
            if event.phase in ("references", "attachments"):
                self._line(f"  resolving {event.phase}...")
            return
        if event.page:
            counts = self.per_type.setdefault(event.resource_type, [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += event.imported
            counts[2] += event.updated
            counts[3] += event.unchanged
        counts = self.per_type.get(event.resource_type, [0, 0, 0, 0])
        total = f"/{event.total:,}" if event.total else ""
        text = (
            f"  [{event.tasks_done}/{event.tasks_total}] {event.resource_type}: page {counts[0]}, "
            f"{counts[1]:,} new, {counts[2]:,} updated, {counts[3]:,} unchanged{total}"
        )
        if self.live or (event.done and not event.page):
            self._line(text)

    def checking(self, done: int, total: int) -> None:
        """Progress of the validation that follows the syncs (on a terminal; a log gets `checked` at the end)."""
        if self.live:
            self._line(f"  checked {done:,} of {total:,} new or changed resources against FHIR R4")

    def checked(self, count: int) -> None:
        """What the validation beside the syncs and after them checked in all; said whether or not any was left for
        after them (a fast machine checks everything beside the sync)."""
        if count:
            self.close()
            sys.stderr.write(f"  checked {count:,} new or changed resources against FHIR R4\n")
            sys.stderr.flush()

    def tidying(self, share: float) -> None:
        """Progress of the rewrite of the record file that follows a big import or sync."""
        percent = int(share * 100)
        if percent != self.tidied and (self.live or self.tidied < 0 or percent == 100):  # a log: where it began, the end
            self._line(f"  tidying the record file… {percent} %")
        self.tidied = percent

    def _line(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\033[K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _print_report(name: str, report: Any) -> None:
    t = report.totals
    print(
        f"{_shown(name)}: {report.outcome} ({report.mode}{', resumed' if report.resumed else ''}) in {report.duration:.1f} s, "
        f"{report.requests} requests, {report.bytes / 1_000_000:.1f} MB: {t.imported:,} new, {t.updated:,} updated, "
        f"{t.unchanged:,} unchanged" + (f", {t.invalid:,} failed validation (kept and flagged)" if t.invalid else "")
    )
    for rtype, r in sorted(report.types.items()):
        line = f"  {rtype.ljust(24)} {r.imported:7,} new {r.updated:7,} updated {r.unchanged:7,} unchanged"
        line += f" {r.invalid:7,} invalid" if r.invalid else ""
        print(line + (f" {r.removed:7,} removed at the source" if r.removed else ""))
        for reason in r.refused:
            print(f"  {''.ljust(24)} refused: {_shown(reason)}")
    if report.not_shared:
        since = min(report.not_shared.values())
        print(
            f"  This portal does not share {', '.join(sorted(report.not_shared))} with apps (refused since {since}); "
            "Carry asks again with --full or after a week."
        )
    for warning in report.warnings:
        print(f"  server note: {_shown(warning)}")
    if report.diagnosis:
        from sync.smart import Diagnosed

        fields = {k: v for k, v in report.diagnosis.items() if k != "code"}
        print(f"  {_shown(cli_message(Diagnosed(report.diagnosis['code'], **fields)))}")
    elif report.message:
        print(f"  {_shown(report.message)}")


def cmd_sync(args: argparse.Namespace) -> int:
    import asyncio

    from sync.errors import CarryError
    from sync.fhir.parse import ValidationWorkers

    from .portals import Portals
    from .record.checking import CheckWhileSyncing

    if args.concurrency < 1:
        raise UsageError("--concurrency must be 1 or more.")
    status = 0
    synced = []
    with _open(args) as record, ValidationWorkers() as workers, CheckWhileSyncing(record, workers) as checker:
        portals = Portals(record, concurrency=args.concurrency)
        targets = [portals.source(args.source)] if args.source else [c for c in portals.sources() if c.status != "disconnected"]
        if not targets:
            raise UsageError("No portal is connected yet; connect one with `carry connect FHIR_BASE_URL`.")
        for conn in targets:
            progress = None if args.json else _ProgressLine()
            try:
                report = asyncio.run(portals.sync(conn.id, full=args.full, progress=checker.progress(progress)))
            except CarryError as exc:
                if progress:
                    progress.close()
                print(f"carry: {_shown(conn.name)}: {_shown(cli_message(exc))}", file=sys.stderr)
                status = 1
                continue
            if progress:
                progress.close()
            synced.append(conn)
            if report.outcome != "complete":
                status = 1
        # Syncs store first and validate what they stored beside it (once there is much); what is left is validated
        # after them, and the invalid counts are added to their reports.
        checking = None if args.json else _ProgressLine()
        result = checker.finish(progress=checking.checking if checking else None)
        if checking:
            checking.checked(result.checked)
        portals.state.rewrite_after_syncs([conn.id for conn in synced])
        _tidied(record, quiet=args.json)
        reports = {conn.name: portals.state.reports(conn.id, 1)[0] for conn in synced}
    if args.json:
        _print_json({name: report.as_json() for name, report in reports.items()})
    else:
        for name, report in reports.items():
            _print_report(name, report)
    return status


def cmd_sources(args: argparse.Namespace) -> int:
    from .portals import Portals

    with _open(args) as record:
        connections = Portals(record).sources()
    if args.json:
        _print_json([c.as_json() for c in connections])
        return 0
    if not connections:
        print("No portal is connected yet; connect one with `carry connect FHIR_BASE_URL`.")
    for conn in connections:
        print(f"{conn.id}  {_shown(conn.name)}  {_shown(conn.base_url)}")
        print(f"    {_source_status(conn)}")
        if conn.status == "needs-reconnect":
            print(f"    {_shown(conn.status_reason or '')} Run `carry connect {_shown(conn.base_url)}` again; your data is kept.")
    return 0


def cmd_send_vital(args: argparse.Namespace) -> int:
    """Send one vital sign the patient measured to a portal that accepts it (US Core "Writing Vital Signs")."""
    import asyncio

    from .portals import Portals
    from .shares import send_vital_sign

    with _open(args) as record:
        portals = Portals(record)
        conn = portals.source(args.source)
        location = asyncio.run(send_vital_sign(portals, conn.id, args.kind, args.value))
    print(f"Sent to {conn.name}; the portal filed it as {location or 'a new Observation'}.")
    print("It is marked as patient-supplied; your care team may review it before it shows in your chart.")
    return 0


# --- the patient's corrections and context on items --------------------------------------------------------------


def _item_source(record: Record, item: str, source: str | None) -> tuple[str, str, int | None]:
    """TYPE/ID and --source (a number or name) as (type, id, source id or None for "the only copy")."""
    rtype, _, rid = item.strip().partition("/")
    if not re.fullmatch(r"[A-Z][A-Za-z]+", rtype) or not rid:
        raise UsageError(f"{item!r} is not an item; give it as TYPE/ID, e.g. Condition/123 (`carry list --json`).")
    if source is None:
        return rtype, rid, None
    found = [s for s in record.sources() if str(s.id) == source.strip() or s.name == source.strip()]
    if not found:
        raise UsageError(f"There is no source {source!r}; `carry info` lists them.")
    return rtype, rid, found[0].id


def _print_note(note: Any, display: str) -> None:
    when = _shown(note.created_at[:10])
    source = _shown(note.source or "a forgotten source")
    print(f"{note.id:>4}  {when}  {_shown(note.item)}  {_shown(display)}  (from {source})")
    for line in note.text.splitlines() or [""]:
        print(f"      {_shown(line)}")


def _note_text(words: list[str]) -> str:
    """The note from the command line, or from standard input when it is `-` or left out (which keeps the words
    out of the process list other users of the computer can read)."""
    if words and words != ["-"]:
        return " ".join(words)
    if sys.stdin.isatty():
        print("Write your note; end it with Ctrl-D on a line of its own.", file=sys.stderr)
    return sys.stdin.read()


def cmd_note(args: argparse.Namespace) -> int:
    """Keep the patient's correction or context on an item: "this is wrong or incomplete"."""
    from .record import add_note, delete_note, edit_note

    with _open(args) as record:
        if args.edit is not None or args.delete is not None:
            if args.delete is not None:
                if args.item or args.text:
                    raise UsageError("--delete takes only the note's number.")
                gone = delete_note(record, args.delete)
                print(f"Note {gone.id} is deleted; it is no longer shown or shared (its history stays in the record).")
                return 0
            note = edit_note(record, args.edit, _note_text([args.item, *args.text] if args.item else []))
            print(f"Note {args.edit} is changed; the new version is note {note.id} (the old one stays in its history).")
            return 0
        if not args.item:
            raise UsageError('Give the item and the note: carry note TYPE/ID "what is wrong or missing".')
        rtype, rid, source_id = _item_source(record, args.item, args.source)
        note = add_note(record, rtype, rid, source_id, _note_text(args.text))
    print(f"Note {note.id} is kept beside {_shown(note.item)} from {_shown(note.source or '')}; the source's copy is "
          "unchanged. It goes into your shares as your own words.")  # fmt: skip
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    from .record import note_history, notes

    with _open(args) as record:
        person = _person(record, args) if args.person else None
        found = note_history(record, args.history) if args.history is not None else notes(record, person)
        names = {}
        for note in found:
            stored = record.get(note.item_type, note.item_id, note.source_id) if note.source_id is not None else None
            names[note.id] = stored.row.display if stored is not None else ""
    if args.json:
        _print_json([{**n.as_json(), "display": names[n.id]} for n in found])
        return 0
    if not found:
        print('No notes yet; add one with carry note TYPE/ID "what is wrong or missing".')
    for note in found:
        _print_note(note, names[note.id])
    return 0


def cmd_send_note(args: argparse.Namespace) -> int:
    """Send a note to the portal its item came from, where the portal accepts it."""
    import asyncio

    from .portals import Portals
    from .shares import send_note

    with _open(args) as record:
        name, location = asyncio.run(send_note(Portals(record), args.note))
    print(f"Sent to {_shown(name)}; the portal filed it as {_shown(location or 'a new DocumentReference')}.")
    print("It is marked as your own words (patient-supplied); your care team may review it before it shows.")
    return 0


def cmd_disconnect(args: argparse.Namespace) -> int:
    import asyncio

    from .portals import Portals

    with _open(args) as record:
        portals = Portals(record)
        conn = portals.source(args.source)
        done = asyncio.run(portals.disconnect(conn.id, forget=args.forget))
    print(done.sentence())
    print("Its records were deleted from your record." if args.forget else "Its records stay in your record (--forget deletes them).")
    return 0


# --- sharing: a summary as a SMART Health Link, PDF and FHIR file; opening links others made -------------------


def _share_passcode(label: str, *, twice: bool) -> str:
    env = _secret("CARRY_SHARE_PASSCODE")
    if env:
        return env
    first = _prompt(label, "CARRY_SHARE_PASSCODE")
    if twice and _prompt("Repeat it", "CARRY_SHARE_PASSCODE") != first:
        raise UsageError("The two passcodes were not the same; nothing was shared.")
    return first


def _write_output(path: str, data: bytes) -> None:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name.")
    try:
        write_atomic(target, data)  # 0600: health data, unencrypted at the patient's request
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror}.") from None


def cmd_share(args: argparse.Namespace) -> int:
    from sync.share import REACH_CLI_HINT, reach_warning

    from .shares import (
        CHECK_IN,
        CHECK_IN_SCREEN_EXPIRY,
        IPS,
        ShareHost,
        ShareSettings,
        candidates,
        counted,
        create_share,
        parse_expiry,
        revoke,
    )

    words = list(args.words)
    if words[:1] != ["settings"] and args.host is not None:
        raise UsageError("--host goes with `carry share settings`.")
    if words[:1] == ["settings"] and len(words) == 1:
        current = ShareSettings.load()
        if args.public_url is not None or args.viewer_url is not None:
            current = ShareSettings(
                (args.public_url or None) if args.public_url is not None else current.public_url,
                (args.viewer_url or None) if args.viewer_url is not None else current.viewer_url,
                current.host_url,
            )
            print(f"Saved in {current.save()}.")
        if args.host is not None:
            current = _choose_host(args, args.host.strip())
        if current.host_url:
            print(f"Links live on: the Carry host at {current.host_url}")
        else:
            print("Links live on: this computer")
        links_base = current.public_base()
        viewer = current.viewer(links_base)
        print(f"Links point at: {links_base}")
        if viewer is None:
            print("Viewer: none (links are plain shlink:/ links)")
        else:
            print(f"Viewer: {viewer}{' (Carry’s own)' if not current.viewer_url else ''}; links look like {viewer}#shlink:/…")
        warning = reach_warning(links_base)
        if warning:
            print(f"{warning} {REACH_CLI_HINT}")
        return 0
    if words[:1] == ["revoke"]:
        if len(words) != 2:
            raise UsageError("Say which link to revoke: `carry share revoke ID` (`carry shares` lists them).")
        with _open(args) as record:
            link = revoke(record, ShareHost.existing(), words[1])
        print(f"Revoked link {link.short_id}{f' ({link.label})' if link.label else ''}: it no longer opens.")
        return 0
    if words and args.passcode:
        raise UsageError("--passcode takes no value (other users of this computer can read a command line): Carry "
                         "asks for it, or reads $CARRY_SHARE_PASSCODE.")  # fmt: skip
    if words:
        raise UsageError(f"`carry share {words[0]}` is not a command; use `carry share`, `carry share revoke ID` "
                         "or `carry share settings`.")  # fmt: skip
    if args.ktc and args.passcode:
        raise UsageError("A link for a clinic's check-in scanner (--ktc) cannot have a passcode; nothing was shared.")
    expires = parse_expiry(args.expires or (CHECK_IN_SCREEN_EXPIRY if args.ktc else None))
    with _open(args) as record:
        selection = candidates(record, _person(record, args))
        who = selection.person
        if who is not None:  # the person is named before anything is shared
            born = f" (born {who.birth_date})" if who.birth_date else ""
            print(f"Summary of {who.name}{born}, from {', '.join(who.sources)}.", file=sys.stderr)
        sections = [s for part in args.sections for s in part.split(",")] if args.sections else None
        selection = selection.pick(sections=sections, leave_out=args.leave_out or (), add=args.add or ())
        if args.dry_run:
            if args.json_out == "-":
                _print_json([dict(c.as_json(), picked=c.key in selection.picked) for c in selection.items])
                return 0
            for name in selection.section_names():
                print(f"{name}:")
                for c in selection.in_section(name):
                    mark = "x" if c.key in selection.picked else " "
                    print(f"  [{mark}] {c.key}  {(c.date or '')[:10]:10}  {c.display}")
            return 0
        passcode = _share_passcode("Passcode for the link", twice=True) if args.passcode else None
        made = create_share(record, ShareHost.chosen(record), selection, label=args.label, passcode=passcode,
                            expires=expires, kind=CHECK_IN if args.ktc else IPS)  # fmt: skip
    if args.pdf:
        _write_output(args.pdf, made.pdf)
    if args.json_out:
        _write_output(args.json_out, made.fhir_json)
    if args.qr:
        base = Path(args.qr)
        png, svg = (base, base.with_suffix(".svg")) if base.suffix.lower() != ".svg" else (base.with_suffix(".png"), base)
        _write_output(str(png), made.qr_png)
        _write_output(str(svg), made.qr_svg.encode("utf-8"))
    if made.reach_warning:
        from sync.share import REACH_CLI_HINT

        print(f"{made.reach_warning} {REACH_CLI_HINT}", file=sys.stderr)
    print(made.uri)
    counts = ", ".join(counted(name, n) for name, n in made.sections.items())
    when = _datetime_text(made.expires) if made.expires else "never"
    print(f"Shared link {made.short_id}: {counts}; expires {when}"
          + ("; needs the passcode" if "P" in made.flag else "") + ".", file=sys.stderr)  # fmt: skip
    for what, path in (("PDF", args.pdf), ("FHIR JSON", args.json_out), ("QR code", args.qr)):
        if path:
            print(f"{what}: {path}", file=sys.stderr)
    if args.pdf or args.json_out:
        print("These files are not encrypted: keep them where only you can read them.", file=sys.stderr)
    return 0


def _choose_host(args: argparse.Namespace, url: str) -> Any:
    """`carry share settings --host URL` (a Carry host; its credential from $CARRY_HOST_CREDENTIAL or a prompt,
    never an argument), or `--host ''` (this computer)."""
    from .shares import ShareSettings, use_carry_host, use_this_computer

    if not url:
        use_this_computer()
        print("New links live on this computer again; links made on the Carry host stay there.")
        return ShareSettings.load()
    credential = _secret("CARRY_HOST_CREDENTIAL") or _prompt("Publish credential (from `carry host add-device`)",
                                                             "CARRY_HOST_CREDENTIAL")  # fmt: skip
    with _open(args) as record:
        device = use_carry_host(record, url, credential)
    print(f"New links live on the Carry host at {url.rstrip('/')} (this device is {_shown(device.get('device'))!r} "
          "there); its credential is kept in your encrypted record.")  # fmt: skip
    return ShareSettings.load()


def _datetime_text(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def cmd_shares(args: argparse.Namespace) -> int:
    from .shares import ShareHost, counted, host_of, host_status, share_links

    with _open(args) as record:
        links = share_links(record)
        hosts = ShareHost.every(record)
        statuses = {link.link_id: host_status(host_of(hosts, link), link) for link in links}
    if args.json:
        _print_json([
            {"id": link.link_id[:8], "link_id": link.link_id, "label": link.label, "created": link.created_at,
             "expires": link.exp, "passcode": "P" in link.flag, "status": statuses[link.link_id],
             "kind": "check-in" if "U" in link.flag else "summary",
             "revoked_at": link.revoked_at, "sections": link.sections, "sources": list(link.sources),
             "accesses": [a.as_json() for a in link.accesses]}
            for link in links
        ])  # fmt: skip
        return 0
    if not links:
        print("You have not shared anything yet; `carry share` makes a link.")
    for link in links:
        expiry = _datetime_text(link.exp) if link.exp else "never"
        print(f"{link.short_id}  {link.label or '(no label)'}  {statuses[link.link_id]}  made {link.created_at}, "
              f"expires {expiry}{', passcode' if 'P' in link.flag else ''}"
              f"{', for a check-in scanner' if 'U' in link.flag else ''}")  # fmt: skip
        print(f"    {', '.join(counted(s, n) for s, n in link.sections.items())}")
        if not link.accesses:
            print("    not opened yet")
        for access in link.accesses:
            print(f"    {access.sentence()}")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    import asyncio

    from .shares import keep_received, open_shared, received_person, received_sections

    shlink = args.shlink if args.shlink != "-" else sys.stdin.readline().strip()
    passcode = _share_passcode("Passcode of the link", twice=False) if args.passcode else None
    received = asyncio.run(open_shared(shlink, recipient=args.recipient, passcode=passcode))
    sections = received_sections(received)
    if args.json:
        _print_json({
            "label": received.label, "flag": received.flag, "expires": received.expires,
            "person": received_person(received),
            "sections": [{"title": t, "item": i, "rows": [{"item": r.item, "details": r.details, "status": r.status,
                                                            "date": r.date, "source": r.source} for r in rows],
                          "empty": e}
                         for t, i, rows, e in sections],
            "unverified_cards": received.unverified_cards,
        })  # fmt: skip
    else:
        print(f"Shared summary{f': {received.label}' if received.label else ''}")
        print(received_person(received))
        for title, _item, rows, empty in sections:
            print(f"{title}:")
            if not rows:
                print(f"  {empty}")
            for row in rows:
                parts = [p for p in (row.details, row.status, row.date, row.source and f"from {row.source}") if p]
                print(f"  {row.item}" + (f" ({'; '.join(parts)})" if parts else ""))
    if args.keep:
        with _open(args) as record:
            name, counts = keep_received(record, received, name=args.name)
        print(f"Kept in your record as the read-only source {name!r}: {counts.imported:,} new, {counts.updated:,} "
              f"updated, {counts.unchanged:,} unchanged.", file=sys.stderr)  # fmt: skip
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import save_login, serve

    if getattr(args, "set_login", False):
        username = os.environ.get("CARRY_SERVER_USER") or input("User name for the login page: ").strip()
        password = _secret("CARRY_SERVER_PASSWORD") or _prompt("Password for the login page (10+ characters)")
        path = save_login(username, password, tuple(getattr(args, "allow_host", None) or ()))
        print(f"Saved the login in {path}. Start Carry with `carry serve --host 0.0.0.0` to share it on your network.")
        return 0
    serve(
        getattr(args, "host", "127.0.0.1"),
        getattr(args, "port", 8550),
        open_browser=not getattr(args, "no_browser", False),
        record=args.record,
    )
    return 0


def cmd_desktop(args: argparse.Namespace) -> int:
    from .server import run_desktop

    run_desktop(args.record)
    return 0


# --- `carry host`: the share host alone, and the devices allowed to publish to it ---------------------------------


def _host_store(args: argparse.Namespace) -> Any:
    from sync.share.host.hosting import open_host_store

    from .locations import data_dir

    # $CARRY_HOST_DATABASE keeps a database password out of the command line (other users can read argv).
    return open_host_store(args.database or os.environ.get("CARRY_HOST_DATABASE"), data_dir())


def cmd_host(args: argparse.Namespace) -> int:
    import time
    from datetime import datetime, timezone

    from sync.share.host.hosting import credential_hash, device_name, new_credential

    words = list(args.words)
    if words[:1] == ["add-device"] and len(words) == 2:
        name = device_name(words[1])
        credential = new_credential()
        _host_store(args).add_device(name, credential_hash(credential),
                                     datetime.now(timezone.utc).isoformat(timespec="seconds"))  # fmt: skip
        print(f"Added the device {name!r}. Its publish credential is shown only now; on that device run "
              "`carry share settings --host URL` and paste it when asked (or set $CARRY_HOST_CREDENTIAL):")  # fmt: skip
        print(credential)
        return 0
    if words == ["devices"]:
        devices = _host_store(args).devices(time.time())
        if not devices:
            print("No device may publish yet; `carry host add-device NAME` adds one.")
        for d in devices:
            print(f"{d.name}  added {d.created_at}  {d.links} live link{'s' if d.links != 1 else ''}, "
                  f"{d.bytes / 1024:.0f} KiB")  # fmt: skip
        return 0
    if words[:1] == ["remove-device"] and len(words) == 2:
        if not _host_store(args).remove_device(words[1], datetime.now(timezone.utc).isoformat(timespec="seconds")):
            raise UsageError(f"There is no device called {words[1]!r}; `carry host devices` lists them.")
        print(f"Removed the device {words[1]!r}: its credential no longer works. Its links stay until they expire.")
        return 0
    if words:
        raise UsageError("Use `carry host`, `carry host add-device NAME`, `carry host devices` or "
                         "`carry host remove-device NAME`.")  # fmt: skip
    from sync.share import DeviceQuota
    from sync.share.host.hosting import PublishLimits, run_host

    if min(args.max_links, args.max_mb, args.rate_per_minute) < 1 or args.purge_every <= 0:
        raise UsageError("--max-links, --max-mb, --rate-per-minute and --purge-every must be positive.")
    public = args.public_url or f"http://{args.host if ':' not in args.host else f'[{args.host}]'}:{args.port}"
    limits = PublishLimits(DeviceQuota(args.max_links, args.max_mb * 1024 * 1024), args.rate_per_minute)
    from sync.share import reach_warning

    warning = reach_warning(public.rstrip("/") + "/shl")
    if warning:  # a host only this machine can reach: fine for a try, not for a doctor's phone
        print(f"carry: {warning} Give --public-url https://… once it is behind TLS.", file=sys.stderr)
    run_host(_host_store(args), args.host, args.port, public, limits=limits, purge_every=args.purge_every)
    return 0


# --- wiring ------------------------------------------------------------------------------------------------------


_PERSON_HELP = "whose record: a name (or part of it) or number from `carry people`; needed when it holds several"


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--record", metavar="PATH", default=argparse.SUPPRESS, help="the record file (default: $CARRY_RECORD or your user data directory)"
    )
    parser = _Parser(
        prog="carry",
        description="Carry: your health record, encrypted on your own device.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)
        return p

    add("init", cmd_init, "create a new encrypted record")

    p = add("import", cmd_import, "import FHIR JSON, NDJSON or Bundle files, SMART Health Cards, Apple Health exports, "
            "C-CDA documents, PDFs and photos (PNG, JPEG)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--offline", action="store_true", help="do not fetch health card issuers' keys")
    p.add_argument("--source", default="Imported files", help="the source to file them under (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print a report per file as JSON")
    p.add_argument("--person", metavar="NAME_OR_NUMBER",
                   help="whose record a file that names no patient (an Apple Health export) goes into; needed when "
                        "the record holds several persons")  # fmt: skip
    p.add_argument("--title", metavar="TEXT", help="a PDF or photo: its title (default: the file's name)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="a PDF or photo: its date (default: the date the file "
                   "states, if any)")  # fmt: skip

    p = add("export", cmd_export, "every resource as a FHIR Bundle (type collection), JSON as stored")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--type", metavar="TYPE", help="only resources of this type")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--ndjson", action="store_true", help="one resource per line (NDJSON) instead of a Bundle")

    p = add("list", cmd_list, "resources, newest first")
    p.add_argument("type", nargs="?", metavar="TYPE", help="only this resource type, e.g. Condition")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--invalid", action="store_true", help="only resources that failed validation")
    p.add_argument("--merged", action="store_true", help="one line per fact: copies from every source shown once")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--unassigned", action="store_true", help="only resources about a patient Carry cannot place")

    p = add("facts", cmd_facts, "show a merged fact, or confirm or split what Carry grouped")
    p.add_argument("action", choices=("show", "confirm", "split", "reset"), help="what to do")
    p.add_argument("fact", metavar="FACT_ID", help="a fact id from `carry list --merged`")
    p.add_argument(
        "more", nargs="*", metavar="MORE",
        help="confirm: more fact ids to merge with it; split: the records to take out (number, TYPE/ID or SOURCE:TYPE/ID)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="show: print the fact as JSON")

    p = add("meds", cmd_meds, "your medications across every source: current, stopped, conflicts, allergy flags")
    p.add_argument("--json", action="store_true")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)

    def entry_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--value", metavar="VALUE", help="edit: a reading's value (120/80 for blood pressure)")
        p.add_argument("--unit", metavar="UCUM", help="a reading's unit: [lb_av], [in_i], [degF], mmol/L (default: "
                       "kg, cm, Cel, mg/dL)")  # fmt: skip
        p.add_argument("--when", metavar="DATE[THH:MM]", help="when you measured or wrote it (default: now)")
        p.add_argument("--note", metavar="TEXT", help="a note of your own on it")
        p.add_argument("--onset", metavar="DATE", help="symptom: when it started (default: today)")
        p.add_argument("--ended", metavar="DATE", help="symptom: when it went away")
        p.add_argument("--severity", choices=("mild", "moderate", "severe"), help="symptom: how bad it is")
        p.add_argument("--dose", metavar="TEXT", help="medicine: how much and how often, in your words")
        p.add_argument("--since", metavar="DATE", help="medicine: when you started it")
        p.add_argument("--until", metavar="DATE", help="medicine: when you stopped it")
        p.add_argument("--reaction", metavar="TEXT", help="allergy: what happens to you")
        p.add_argument("--intolerance", action="store_true", help="allergy: an intolerance, not an allergy")
        p.add_argument("--criticality", choices=("low", "high", "unable-to-assess"), help="allergy: how serious")
        p.add_argument("--same-as", dest="same_as", metavar="FACT_ID",
                       help="symptom, medicine, allergy: the item from `carry list --merged` this is (one fact then)")
        p.add_argument("--json", action="store_true")

    p = add("add", cmd_add, "add an entry of your own: a reading, symptom, note, medicine or allergy")
    p.add_argument("kind", choices=("reading", "symptom", "note", "medicine", "allergy"), help="what to add")
    p.add_argument("words", nargs="+", metavar="WHAT", help="reading: KIND VALUE (blood-pressure 120/80, weight 72.5, "
                   "height, temperature, glucose, heart-rate, oxygen-saturation, respiratory-rate); the others: your words")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    entry_options(p)

    p = add("edit", cmd_edit, "change an entry of your own (the old version is kept in its history)")
    p.add_argument("entry", metavar="ENTRY", help="TYPE/ID or ID from `carry entries`")
    p.add_argument("--text", metavar="TEXT", help="the words: a symptom, note, medicine's name or allergy's substance")
    entry_options(p)

    p = add("delete", cmd_delete, "delete an entry of your own (its history is kept)")
    p.add_argument("entry", metavar="ENTRY", help="TYPE/ID or ID from `carry entries`")

    p = add("undelete", cmd_undelete, "bring back an entry of your own you deleted, as it was (its history is kept)")
    p.add_argument("entry", metavar="ENTRY", help="TYPE/ID or ID from `carry entries --deleted`")

    p = add("entries", cmd_entries, "the entries you added yourself; --history ENTRY shows every version of one")
    p.add_argument("--history", metavar="ENTRY", help="every version of one entry (a deleted one too)")
    p.add_argument("--deleted", action="store_true", help="the entries you deleted")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--json", action="store_true")

    p = add("search", cmd_search, "full-text search (your notes on items too)")
    p.add_argument("text", nargs="+", metavar="TEXT", help="words to find (all must match; the last may be a prefix)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--unassigned", action="store_true", help="only resources about a patient Carry cannot place")

    p = add("people", cmd_people, "whose records this is: list the persons, or merge, split or rename them")
    p.add_argument("action", nargs="?", choices=("list", "merge", "apart", "split", "rename"), default="list", help="what to do "
                   "(default: list)")  # fmt: skip
    p.add_argument("args", nargs="*", metavar="ARG", help="merge: two persons; split: a person and the records to "
                   "take out (numbers or SOURCE:Patient/ID); apart: two proposed persons who are not one; rename: a person "
                   "and the new name")  # fmt: skip
    p.add_argument("--json", action="store_true")

    p = add("info", cmd_info, "record path, counts per type, sources, size, schema version")
    p.add_argument("--json", action="store_true")

    add("passphrase", cmd_passphrase, "change the passphrase")

    p = add("backup", cmd_backup, "write an encrypted copy of the record (it opens with your passphrase), checked")
    p.add_argument("path", metavar="PATH", help="the backup file to write (owner-only)")

    p = add("restore", cmd_restore, "make a backup your record on this device (it is checked with its passphrase)")
    p.add_argument("path", metavar="PATH", help="the backup file")
    p.add_argument("--replace", action="store_true", help="replace the record here (it is kept beside, encrypted)")

    p = add("providers", cmd_providers, "find your hospital or clinic's FHIR server in the provider directory")
    p.add_argument("text", nargs="*", metavar="SEARCH", help="words of the name, city, state, ZIP code or vendor")
    p.add_argument("--state", metavar="XX", help="only providers in this state (two-letter code)")
    p.add_argument("--vendor", metavar="NAME", help="only this EHR vendor, e.g. epic, oracle-health, meditech")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results (default: %(default)s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--refresh", action="store_true", help="download the vendors' current lists first")

    p = add("sandbox", cmd_sandbox, "run the demo hospital: a local SMART on FHIR portal with synthetic patients")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8551, metavar="N", help="port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--data", nargs="+", action="extend", metavar="FILE_OR_DIR", help="FHIR Bundles to serve (default: the demo patients)")
    p.add_argument("--clients", metavar="FILE", help="JSON file of client registrations (public or confidential)")
    p.add_argument("--client", nargs=2, action="append", metavar=("CLIENT_ID", "REDIRECT_URI"), help="register a public client")
    p.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS", help="access token lifetime (default: %(default)s)")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="answer every FHIR data request after this delay, as a portal across the internet does (default: 0)")
    p.add_argument("--registration", action="store_true", help="offer dynamic client registration and the JWT bearer grant, as Epic does for patient apps")
    p = add("connect", cmd_connect, "connect a patient portal (SMART on FHIR) by its FHIR base URL")
    p.add_argument("base_url", metavar="BASE_URL", help="the portal's FHIR base URL (see `carry providers`)")
    p.add_argument("--client-id", metavar="ID", help="the client id registered at the portal (default: clients.toml)")
    p.add_argument("--name", metavar="NAME", help="what to call this source (default: the portal's own name)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="how long to wait for the login (default: %(default)s)")
    p.add_argument("--no-browser", action="store_true", help="only print the address to open ($CARRY_NO_BROWSER too)")
    p.add_argument("--scopes", metavar="SCOPES", help="ask for exactly these scopes (space-separated) instead of Carry's choice")
    p.add_argument("--callback-port", type=int, metavar="PORT",
                   help="the loopback port of the redirect URI registered at the portal (default: clients.toml, else 47321)")
    p.add_argument("--print-redirect", action="store_true", help="only print the exact redirect URI to register, then stop")

    p = add("sync", cmd_sync, "pull new and changed records from connected portals")
    p.add_argument("source", nargs="?", metavar="SOURCE", help="one source (number, name or FHIR base); default: all")
    p.add_argument("--full", action="store_true", help="re-pull everything, not only what changed")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="requests at a time (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the sync reports as JSON")

    p = add("sources", cmd_sources, "connected portals: status, last sync, needs reconnect")
    p.add_argument("--json", action="store_true")

    p = add("send-vital", cmd_send_vital, "send a vital sign you measured to a portal that accepts it")
    p.add_argument("source", metavar="SOURCE", help="the source's number, name or FHIR base")
    p.add_argument("kind", metavar="KIND", help="what you measured, e.g. weight (kg) or heart-rate (/min)")
    p.add_argument("value", metavar="VALUE", help="the number, in the kind's unit")

    p = add("note", cmd_note, "add your correction or context to an item (the source's copy is kept as it is)")
    p.add_argument("item", nargs="?", metavar="TYPE/ID", help="the item (its resourceType/id, see `carry list --json`)")
    p.add_argument("text", nargs="*", metavar="TEXT", help="what is wrong or missing, in your words (- or nothing: "
                   "read from standard input, out of the process list)")
    p.add_argument("--source", metavar="SOURCE", help="the item's source (number or name) when several have it")
    p.add_argument("--edit", metavar="NOTE", help="change note NOTE to TEXT (the old version is kept)")
    p.add_argument("--delete", metavar="NOTE", help="delete note NOTE (its history is kept)")

    p = add("notes", cmd_notes, "your notes on items: corrections and context")
    p.add_argument("--json", action="store_true")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--history", metavar="NOTE", help="every version of one note")

    p = add("send-note", cmd_send_note, "send one of your notes to the portal its item came from, if it accepts it")
    p.add_argument("note", metavar="NOTE", help="the note's number (see `carry notes`)")

    p = add("disconnect", cmd_disconnect, "revoke a portal's access and delete its tokens (records stay)")
    p.add_argument("source", metavar="SOURCE", help="the source's number, name or FHIR base")
    p.add_argument("--forget", action="store_true", help="also delete every record that came from it")

    p = add("share", cmd_share, "share a summary as a link, QR code, PDF and FHIR file; `share revoke ID`; `share settings`")
    p.add_argument("words", nargs="*", metavar="revoke ID | settings", help="revoke a link, or show/change where links point")
    p.add_argument("--sections", action="append", metavar="S,S", help="only these sections (problems, allergies, "
                   "medications, immunizations, results, procedures, vital-signs, past-problems)")
    p.add_argument("--leave-out", action="append", metavar="ID", help="leave out one item (its id from --dry-run)")
    p.add_argument("--add", action="append", metavar="ID", help="add one item not in the default summary")
    p.add_argument("--person", metavar="NAME_OR_NUMBER", help=_PERSON_HELP)
    p.add_argument("--passcode", action="store_true", help="protect the link with a passcode (asked twice, or "
                   "$CARRY_SHARE_PASSCODE)")
    p.add_argument("--expires", metavar="WHEN", help="1d, 7d, 30d, 12h, 15m or never (default: 7d; 15m with --ktc, "
                   "which never takes never)")
    p.add_argument("--ktc", action="store_true", help="a link for a clinic's check-in scanner (CMS Kill the "
                   "Clipboard: no passcode, always expires, records and a PDF of them in one file)")
    p.add_argument("--label", metavar="TEXT", help="a short label the recipient sees (at most 80 characters)")
    p.add_argument("--pdf", metavar="FILE", help="also write the summary as a PDF")
    p.add_argument("--json", dest="json_out", metavar="FILE", help="also write the IPS document (FHIR JSON)")
    p.add_argument("--qr", metavar="FILE", help="also write the QR code as FILE (PNG) and beside it as SVG")
    p.add_argument("--dry-run", action="store_true", help="list what would be shared (with --json -: as JSON)")
    p.add_argument("--public-url", metavar="URL", help="settings: the https address your share routes are reached at")
    p.add_argument("--host", metavar="URL", help="settings: put new links on the Carry host at URL (its publish "
                   "credential is asked for, or read from $CARRY_HOST_CREDENTIAL); '' for this computer")
    p.add_argument("--viewer-url", metavar="URL", help="settings: the SHL viewer links open in "
                   "(default: Carry's own at <public url>/shl/view; 'none' for plain shlink:/ links; '' for the default)")

    p = add("shares", cmd_shares, "your shared links, with who opened them")
    p.add_argument("--json", action="store_true")

    p = add("open", cmd_open, "open a SMART Health Link someone shared with you")
    p.add_argument("shlink", metavar="SHLINK", help="the link (shlink:/… or a viewer address holding one; - reads stdin)")
    p.add_argument("--recipient", default="Carry user", metavar="NAME", help="who you are; the sharer sees it (default: %(default)s)")
    p.add_argument("--passcode", action="store_true", help="the link needs a passcode (asked, or $CARRY_SHARE_PASSCODE)")
    p.add_argument("--keep", action="store_true", help="keep it in your record as a read-only source")
    p.add_argument("--name", metavar="NAME", help="with --keep: what to call the source (default: the link's label)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = add("serve", cmd_serve, "start the app (the default): the web UI on http://127.0.0.1:8550")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s; others need a login)")
    p.add_argument("--port", type=int, default=8550, help="port (default: %(default)s)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--set-login", action="store_true", help="set the login required when serving beyond this computer")
    p.add_argument("--allow-host", action="append", metavar="NAME", help="with --set-login: a host name the server answers to")

    p = add("host", cmd_host, "run a share host alone (links, viewer, publish API); `host add-device NAME`, "
            "`host devices`, `host remove-device NAME`")
    p.add_argument("words", nargs="*", metavar="add-device NAME | devices | remove-device NAME")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s; put it behind a "
                   "TLS reverse proxy)")
    p.add_argument("--port", type=int, default=8560, help="port (default: %(default)s)")
    p.add_argument("--database", metavar="URL", help="postgresql://… or sqlite:///PATH (default: host.sqlite in the "
                   "data directory; $CARRY_HOST_DATABASE)")
    p.add_argument("--public-url", metavar="URL", help="the https address people reach the host at (default: "
                   "http://HOST:PORT)")
    p.add_argument("--max-links", type=int, default=500, help="live links per device (default: %(default)s)")
    p.add_argument("--max-mb", type=int, default=100, help="MiB of ciphertext per device (default: %(default)s)")
    p.add_argument("--rate-per-minute", type=int, default=120, help="publish API requests per device and minute, "
                   "per process (default: %(default)s)")
    p.add_argument("--purge-every", type=float, default=600.0, help="seconds between purges of expired content "
                   "(default: %(default)s)")

    add("desktop", cmd_desktop, "start the app in a desktop window")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "record"):  # --record may come before or after the command, or not at all
        args.record = None
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # plain `carry` starts the app
        handler = cmd_serve
    try:
        with _secrets_held():
            return handler(args)
    except UsageError as exc:
        print(f"carry: {_shown(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("carry: interrupted; nothing was half-written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (carry list | head); stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        message = cli_message(exc)  # worded for the command line: its action as a command to run
        if message is None:
            if os.environ.get("CARRY_DEBUG"):
                raise
            message = f"unexpected {type(exc).__name__}; run again with CARRY_DEBUG=1 to see the details"
        print(f"carry: {_shown(message)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
