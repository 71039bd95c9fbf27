"""What makes a benchmark's figures worth reading on a shared machine (issue 20, part 6).

Every benchmark prints the machine's load beside its figures, and measures its baseline again until two runs agree
within 10 %: a baseline taken while something else had the cores makes every ratio against it wrong, so when no two
runs agree (within a bounded number of them) the ratio is not reported and the assertion on it is skipped, saying
why, rather than passed or failed on a disturbed measurement.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["AGREE", "Steady", "clocked", "machine_load", "print_load", "ratio_text", "require_steady", "settled", "steady"]

AGREE = 0.10  # two runs agree when they differ by at most this share of the smaller one
MAX_RUNS = int(os.environ.get("CARRY_BENCH_MAX_RUNS", "6"))


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores"


def print_load(when: str) -> None:
    print(f"  [{when}: {machine_load()}]")


@dataclass(frozen=True)
class Steady:
    """A baseline's runs, and its figure: the lower of the first two runs that agreed (None when none did)."""

    what: str
    runs: tuple[float, ...]
    value: float | None

    @property
    def disturbed(self) -> str | None:
        if self.value is not None:
            return None
        shown = ", ".join(f"{run:.4g}" for run in self.runs)
        return (
            f"{self.what}: no two of {len(self.runs)} runs agreed within {AGREE:.0%} ({shown}; {machine_load()}), "
            "so no ratio against it is reported"
        )


def agreeing(runs: list[float], agree: float = AGREE) -> float | None:
    """The lower of the last run and the first earlier run it agrees with, or None."""
    last = runs[-1]
    for earlier in runs[:-1]:
        low, high = sorted((earlier, last))
        if high - low <= agree * low * (1 + 1e-9):  # exactly 10 % apart still agrees, whatever the rounding
            return low
    return None


def steady(what: str, measure: Callable[[], float], *, max_runs: int = MAX_RUNS) -> Steady:
    """Run `measure` (it returns its own figure, seconds or bytes) until two runs agree, at most `max_runs` times."""
    runs: list[float] = []
    while len(runs) < max(2, max_runs):
        runs.append(measure())
        if len(runs) >= 2 and (value := agreeing(runs)) is not None:
            return Steady(what, tuple(runs), value)
    return Steady(what, tuple(runs), None)


def settled(what: str, runs: list[float]) -> Steady:
    """Runs taken elsewhere (in turns with other measurements): the lowest run that another agrees with."""
    ordered = sorted(runs)
    for low, high in zip(ordered, ordered[1:]):
        if agreeing([low, high]) is not None:
            return Steady(what, tuple(runs), low)
    return Steady(what, tuple(runs), None)


def clocked(fn: Callable[[], Any], clock: Callable[[], float] = time.perf_counter) -> Callable[[], float]:
    """`fn` as a measurement: the seconds one call takes (wall-clock, or by `clock`: time.process_time for CPU)."""

    def measure() -> float:
        start = clock()
        fn()
        return clock() - start

    return measure


def ratio_text(value: float, baseline: Steady) -> str:
    if baseline.value is None:
        return "ratio not reported (baseline disturbed)"
    return f"ratio {value / baseline.value:.2f}x"


def require_steady(*baselines: Steady) -> None:
    """Skip what follows (the assertions on ratios) when a baseline was disturbed, saying which and why."""
    for baseline in baselines:
        if baseline.disturbed:
            pytest.skip(baseline.disturbed)
