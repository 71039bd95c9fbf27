"""The benchmarks' own yardstick: when a baseline counts as steady (tests/benchmarks/steady.py)."""

from __future__ import annotations

from collections.abc import Iterator

from steady import agreeing, ratio_text, settled, steady


def _runs(*figures: float) -> Iterator[float]:
    yield from figures


def test_runs_agree_within_ten_percent_of_the_smaller() -> None:
    assert agreeing([1.0, 1.1]) == 1.0
    assert agreeing([1.0, 1.11]) is None
    assert agreeing([2.0, 5.0, 2.1]) == 2.0


def test_a_baseline_is_measured_again_until_two_runs_agree() -> None:
    figures = _runs(1.0, 3.0, 2.0, 2.9, 9.0)
    got = steady("scan", lambda: next(figures))
    assert got.runs == (1.0, 3.0, 2.0, 2.9) and got.value == 2.9 and got.disturbed is None
    assert ratio_text(5.8, got) == "ratio 2.00x"


def test_a_baseline_that_never_settles_reports_no_ratio() -> None:
    figures = _runs(1.0, 2.0, 4.0, 8.0)
    got = steady("floor", lambda: next(figures), max_runs=4)
    assert got.value is None and len(got.runs) == 4
    assert got.disturbed is not None and got.disturbed.startswith("floor: no two of 4 runs agreed within 10%")
    assert ratio_text(5.0, got) == "ratio not reported (baseline disturbed)"


def test_runs_taken_in_turns_settle_on_the_lowest_pair_that_agrees() -> None:
    assert settled("bare", [3.0, 1.0, 1.05, 0.5]).value == 1.0
    assert settled("bare", [3.0, 1.0, 2.0]).value is None
