"""Record size on disk against the JSON it was given (issue 20: <= 1.5x).

Run on demand:  python -m pytest tests/benchmarks/test_size_benchmark.py -s -p no:cacheprovider
Sizes: CARRY_BENCH_SIZE_SIZES (default 10000,100000), built by the UI benchmark's generator (one synthetic patient
cloned from the demo patients) and kept between runs (tests/benchmarks/built.py). Each record is measured as the
import leaves it (kept views filled), its file and any WAL beside it; the same record rewritten (VACUUM, as a
migration that frees space or a backup leaves it) is reported beside it. Asserted at every size, as imported: the
target with a margin (<= 1.45x; a big import is followed by a rewrite already, so the two differ little).
A size is not a timing: the machine's load does not change it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from built import built_record
from support.records import PASSPHRASE
from test_ui_benchmark import _synthetic, _write_synthetic

from app.record import Record

TARGET = 1.5  # issue 20
MARGIN = 1.45  # what is asserted: the target with room for what records of other shapes hold
SIZES = [int(n) for n in os.environ.get("CARRY_BENCH_SIZE_SIZES", "10000,100000").split(",")]


def _on_disk(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


@pytest.mark.parametrize("size", SIZES)
def test_record_size_against_its_json(tmp_path: Path, size: int) -> None:
    given = len(_synthetic(size))
    path = built_record("ui-bench", size, _write_synthetic, tmp_path, _synthetic)
    stored = _on_disk(path)
    with Record.open(path, PASSPHRASE) as record:
        record._vacuum()
    rewritten = _on_disk(path)
    print(f"\n  {size:>9,} resources: JSON {given / 1e6:8.1f} MB, record {stored / 1e6:8.1f} MB = {stored / given:.2f}x "
          f"(rewritten {rewritten / 1e6:.1f} MB = {rewritten / given:.2f}x; target <= {TARGET}x, asserted <= {MARGIN}x)")  # fmt: skip
    assert stored <= MARGIN * given
