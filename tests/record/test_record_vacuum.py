"""The rewrite that hands back the space a migration freed (VACUUM) builds its copy in a temporary file, so that it
does not take the record's whole size in memory: that file is encrypted with the record's key, never plain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.records import PASSPHRASE

# Run in a process of its own: SQLite reads SQLITE_TMPDIR once, when it starts. While the rewrite runs (in a thread),
# every temporary file it has open is read through /proc; what was read most is reported.
_CHILD = r"""
import json, os, sys, threading
from app.record import Record

path, marker = sys.argv[1], sys.argv[2]
record = Record.create(path, sys.argv[3])
lines = [
    json.dumps({"resourceType": "Observation", "id": f"o{n}", "status": "final",
                "code": {"text": f"{marker} reading {n}"}, "valueQuantity": {"value": n, "unit": "mmol/L"}})
    for n in range(3000)
]
record.import_bytes("\n".join(lines).encode(), origin="many.ndjson")
# The rewrite's copy gets the record's page cache (64 MiB): a small cache here makes this small record spill to the
# file as a big one does.
record._db.execute("PRAGMA cache_size = -256")
seen = {"bytes": 0, "plain": False, "marker": False, "files": 0}
for attempt in range(5):
    done = threading.Event()
    thread = threading.Thread(target=lambda: (record._vacuum(), done.set()))
    thread.start()
    while not done.is_set():
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(os.environ["SQLITE_TMPDIR"]):
                try:
                    with open(f"/proc/self/fd/{fd}", "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                seen["files"] += 1
                seen["bytes"] = max(seen["bytes"], len(data))
                seen["plain"] = seen["plain"] or b"SQLite format 3" in data
                seen["marker"] = seen["marker"] or marker.encode() in data or marker.lower().encode() in data
    thread.join()
    if seen["bytes"] > 1_000_000:
        break
record.close()
print(json.dumps(seen))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the open files through /proc")
def test_the_rewrite_s_temporary_copy_is_encrypted(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o700)
    env = {**os.environ, "SQLITE_TMPDIR": str(temp), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "r.carry"), "Zebrafinch", PASSPHRASE],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["files"] > 0 and seen["bytes"] > 1_000_000, seen  # the copy went to a temporary file, and was read
    assert not seen["plain"] and not seen["marker"], seen
    assert list(temp.iterdir()) == []  # and it is gone



def test_the_rewrite_keeps_a_small_page_cache_and_gives_the_record_its_own_back(tmp_path: Path) -> None:
    """The rewrite's copy takes the record's page cache size: it runs with at most 4 MiB (after a big import the
    record's own 64 MiB cache is full, and a second one beside it was the import's peak: 258 MiB at 100,000
    resources), and the record's own size is set back after."""
    from app.record import Record
    from app.record.store import _REWRITE_CACHE_KIB

    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        (before,) = record._db.execute("PRAGMA cache_size").fetchone()
        seen: list[int] = []
        record._db.set_trace_callback(lambda sql: seen.extend(
            int(sql.split("=")[1]) for _ in [0] if sql.startswith("PRAGMA cache_size =")))  # fmt: skip
        record._vacuum()
        record._db.set_trace_callback(None)
        assert before < -_REWRITE_CACHE_KIB  # the record's own cache (in KiB) is bigger than the rewrite's
        assert seen == [-_REWRITE_CACHE_KIB, before]
        assert record._db.execute("PRAGMA cache_size").fetchone()[0] == before
