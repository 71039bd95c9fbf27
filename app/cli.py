"""`carry`: a thin command line over the same services the UI uses.

Exit status: 0 on success; 1 with a one-line message on stderr for every user error; 2 for usage errors.
The passphrase comes from $CARRY_PASSPHRASE (for scripts) or a prompt, never from an argument.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import UsageError, user_message
from .locations import record_path
from .record import MIN_PASSPHRASE, ImportRefused, PassphraseRefused, Record, RecordError, ResourceRow

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors: one line, exit 2, as argparse does, minus the noise
        self.exit(2, f"carry: {message} (see `{self.prog} --help`)\n")


# --- passphrases -------------------------------------------------------------------------------------------------


def _prompt(label: str, env_name: str = "CARRY_PASSPHRASE") -> str:
    if not sys.stdin.isatty():
        raise PassphraseRefused(f"{label} needed: set {env_name} or run carry in a terminal.")
    return getpass.getpass(f"{label}: ")


def _passphrase() -> str:
    env = os.environ.get("CARRY_PASSPHRASE")
    return env if env else _prompt("Passphrase")


def _new_passphrase(env_name: str) -> str:
    env = os.environ.get(env_name)
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
def _open(args: argparse.Namespace) -> Iterator[Record]:
    record = Record.open(record_path(args.record), _passphrase())
    try:
        yield record
    finally:
        record.close()


# --- output ------------------------------------------------------------------------------------------------------


def _print_json(value: Any, out: TextIO | None = None) -> None:
    json.dump(value, out or sys.stdout, indent=2, ensure_ascii=False, default=str)
    (out or sys.stdout).write("\n")


def _print_rows(rows: Sequence[ResourceRow]) -> None:
    if not rows:
        print("Nothing found.")
        return
    width = max(len(r.resource_type) for r in rows)
    for row in rows:
        date = (row.date or "")[:10].ljust(10)
        flag = f"  [INVALID: {row.invalid_reason}]" if not row.valid else ""
        status = f" ({row.status})" if row.status and row.resource_type in ("Condition", "AllergyIntolerance") else ""
        print(f"{date}  {row.resource_type.ljust(width)}  {row.display}{status}{flag}")


# --- commands ----------------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    path = record_path(args.record)
    if path.exists():
        raise RecordError(f"There is already a record at {path}.")
    passphrase = _new_passphrase("CARRY_PASSPHRASE")
    Record.create(path, passphrase).close()
    print(f"Created an encrypted record at {path}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    failed = 0
    reports = []
    with _open(args) as record:
        for name in args.files:
            try:
                report = record.import_file(name, source=args.source)
            except ImportRefused as exc:
                failed += 1
                print(f"carry: {exc}", file=sys.stderr)
                continue
            reports.append(report)
            if not args.json:
                c = report.counts
                print(
                    f"{report.origin}: {c.imported} new, {c.updated} updated, {c.unchanged} unchanged"
                    + (f", {c.invalid} failed validation (kept and flagged)" if c.invalid else "")
                )
                for rtype, rid, reason in c.invalid_items:
                    print(f"  invalid {rtype}/{rid}: {reason}")
    if args.json:
        _print_json([r.as_json() for r in reports])
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as record:
        if args.out:
            target = Path(args.out)
            if target.is_dir():
                raise UsageError(f"{target} is a directory; give a file name for the export.")
            partial = target.with_name(target.name + ".partial")
            try:
                with partial.open("wb") as out:
                    count = record.export(out, resource_type=args.type)
                partial.replace(target)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise UsageError(f"Cannot write {target}: {exc.strerror}.") from None
            print(f"Exported {count} resources to {target}.", file=sys.stderr)
            print(
                "The export is not encrypted: keep it somewhere only you can read, and delete it when done.",
                file=sys.stderr,
            )
        else:
            record.export(sys.stdout.buffer, resource_type=args.type)
            sys.stdout.buffer.write(b"\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as record:
        where = "r.valid = 0" if args.invalid else ""
        rows = record.rows(args.type, where=where, limit=args.limit)
    if args.json:
        _print_json([r.as_json() for r in rows])
    else:
        _print_rows(rows)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as record:
        rows = record.search(" ".join(args.text), limit=args.limit)
    if args.json:
        _print_json([r.as_json() for r in rows])
    else:
        _print_rows(rows)
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


# --- wiring ------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
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

    p = add("import", cmd_import, "import FHIR JSON, NDJSON or Bundle files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--source", default="Imported files", help="the source to file them under (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print a report per file as JSON")

    p = add("export", cmd_export, "every resource as a FHIR Bundle (type collection), JSON as stored")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--type", metavar="TYPE", help="only resources of this type")

    p = add("list", cmd_list, "resources, newest first")
    p.add_argument("type", nargs="?", metavar="TYPE", help="only this resource type, e.g. Condition")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--invalid", action="store_true", help="only resources that failed validation")

    p = add("search", cmd_search, "full-text search")
    p.add_argument("text", nargs="+", metavar="TEXT", help="words to find (all must match; the last may be a prefix)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, metavar="N")

    p = add("info", cmd_info, "record path, counts per type, sources, size, schema version")
    p.add_argument("--json", action="store_true")

    add("passphrase", cmd_passphrase, "change the passphrase")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "record"):  # --record may come before or after the command, or not at all
        args.record = None
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except UsageError as exc:
        print(f"carry: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("carry: interrupted; nothing was half-written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (carry list | head); stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        message = user_message(exc)
        if message is None:
            if os.environ.get("CARRY_DEBUG"):
                raise
            message = f"unexpected {type(exc).__name__}; run again with CARRY_DEBUG=1 to see the details"
        print(f"carry: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
