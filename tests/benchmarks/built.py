"""Big benchmark records built once and kept between runs (building 100,000 resources takes minutes).

A record is kept under the system's temp directory (never in the repository), in a folder only this user can read,
named for what it holds: the benchmark's name, its size, a hash of the generator's source and of the schema, and the
schema version it was built at. A change to the generator or to the schema builds a new one. Each run gets a fresh
copy, so what a test adds (a sync of 50 resources) never reaches the next run. Set CARRY_BENCH_REBUILD=1 to build
anew.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from support.records import PASSPHRASE

from app.record import Record, packed
from app.record.schema import MIGRATIONS, latest_version
from app.record.view_cache import current

__all__ = ["built_record", "cache_folder"]


def cache_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"carry-bench-records-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _key(name: str, size: int, made_by: tuple[Callable[..., object], ...]) -> str:
    source = b"".join(inspect.getsource(fn).encode() for fn in made_by)
    schema = "".join(m.sql for m in MIGRATIONS).encode()  # a schema edited before it ships builds anew too
    schema += inspect.getsource(packed).encode()  # and so does a new way of storing the JSON
    return f"{name}-{size}-{hashlib.sha256(source + schema).hexdigest()[:12]}-v{latest_version()}"


def built_record(
    name: str, size: int, generator: Callable[[Path, int], None], into: Path, *also: Callable[..., object]
) -> Path:
    """A copy, at `into`/<name>.carry, of a record of `size` resources made by importing the file that
    `generator(path, size)` writes; built (and kept) the first time, copied after. Prints which it was. `also`:
    the functions the generator calls, whose source is part of the key too."""
    kept = cache_folder() / f"{_key(name, size, (generator, *also))}.carry"
    if os.environ.get("CARRY_BENCH_REBUILD"):
        kept.unlink(missing_ok=True)
    if not kept.exists():
        source = into / f"{name}.ndjson"
        generator(source, size)
        partial = kept.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        start = time.perf_counter()
        with Record.create(partial, PASSPHRASE) as record:
            assert record.import_file(source).counts.imported == size
            assert current(record)  # the kept views filled, as the first look after an import leaves them
        source.unlink()
        for suffix in ("-wal", "-shm"):  # closed cleanly: nothing left beside it, but never keep a stale one
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(kept)
        print(f"\n(built the {size:,}-resource record in {time.perf_counter() - start:.0f} s; kept as {kept.name})")
    else:
        print(f"\n(the {size:,}-resource record was built before: {kept.name})")
    copy = into / f"{name}.carry"
    shutil.copyfile(kept, copy)
    return copy
