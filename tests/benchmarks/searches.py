"""The full-text searches the benchmarks time (issue 2: p95 < 50 ms at 100,000 resources; issue 20: at 1,000,000).

Words a patient would type: those of the record's own condition names (longer than four letters), and a fixed set
of common ones, among them prefixes ("smok", "vacc"). Shared by the record benchmark and the UI benchmark (which
runs on records of any size), so their figures are of the same queries.
"""

from __future__ import annotations

import time

from app.record import Record

__all__ = ["p95", "search_timings", "search_words"]

COMMON = ["hemoglobin", "glucose", "bronchitis", "influenza", "pressure", "sinusitis", "smok", "vacc"]


def search_words(record: Record) -> list[str]:
    named = {w.lower() for r in record.rows("Condition", limit=200) for w in r.display.split() if len(w) > 4}
    return sorted(named) + COMMON


def search_timings(record: Record, words: list[str]) -> list[float]:
    """Seconds of `record.search(word)` for each word, in order."""
    timings = []
    for word in words:
        start = time.perf_counter()
        record.search(word)
        timings.append(time.perf_counter() - start)
    return timings


def p95(timings: list[float]) -> float:
    """The 95th percentile (the value below which 95 % of the timings fall), in seconds."""
    ordered = sorted(timings)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]
