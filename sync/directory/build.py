"""Build a slim directory file from endpoint lists, for assets/directory (run by a maintainer, not by the app):

    python -m sync.directory.build --out assets/directory/providers.json --id ID --vendor NAME --url URL \\
        --licence TEXT --fetched DATE LIST.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .errors import DirectoryError
from .formats import read_list_file
from .index import Directory
from .slim import write_slim

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.directory.build", description=__doc__)
    parser.add_argument("lists", nargs="+", type=Path, metavar="LIST")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--id", required=True, help="a name for the source, kept with each entry")
    parser.add_argument("--vendor", default=None)
    parser.add_argument("--url", default="", help="where the list was taken from (repository @ commit / path)")
    parser.add_argument("--licence", required=True)
    parser.add_argument("--fetched", default="", help="when the copy was taken")
    args = parser.parse_args(argv)
    try:
        found = [p for path in args.lists for p in read_list_file(path, vendor=args.vendor)]
    except DirectoryError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    providers = [replace(p, source=args.id) for p in Directory(found)]
    source = {"id": args.id, "vendor": args.vendor or "", "url": args.url, "entries": len(providers),
              "fetched": args.fetched, "licence": args.licence}  # fmt: skip
    write_slim(args.out, providers, sources=[source])
    print(f"Wrote {len(providers)} providers to {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
