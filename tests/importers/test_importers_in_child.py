"""sync/importers/in_child.py on its own: what a reading in a second process yields arrives whole and in order,
batch by batch; a refusal arrives after everything read before it, as itself; a failure that is a bug arrives as
its kind only (its text may quote the file); no second process outlives the stream."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sync.errors import Action
from sync.importers import ImportFailed
from sync.importers.in_child import streamed_from_child


def _children() -> set[int]:
    mine, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == mine:
                        found.add(int(entry))
            except OSError:
                continue
    return found


_TESTS = os.getpid()


def _numbers(count: int, then: Exception | None = None) -> Iterator[int]:
    for n in range(count):
        yield n * 1000 + (os.getpid() != _TESTS)  # made in another process: odd
    if then is not None:
        raise then


def test_everything_arrives_in_order_from_another_process() -> None:
    before = _children()
    for count in (0, 1, 7, 8, 9, 1000):
        assert list(streamed_from_child(lambda: _numbers(count), 8)) == [n * 1000 + 1 for n in range(count)]
    assert _children() == before


def test_a_refusal_arrives_after_what_was_read_before_it() -> None:
    before = _children()
    got: list[int] = []
    refusal = ImportFailed("The file says no.", action=Action.NONE)
    with pytest.raises(ImportFailed, match=r"^The file says no\.$") as refused:
        for item in streamed_from_child(lambda: _numbers(21, refusal), 8):
            got.append(item)
    assert got == [n * 1000 + 1 for n in range(21)]
    assert refused.value.action == Action.NONE
    assert _children() == before


def test_a_bug_arrives_as_its_kind_only() -> None:
    before = _children()
    with pytest.raises(RuntimeError) as failed:
        list(streamed_from_child(lambda: _numbers(3, ValueError("a patient's value 123")), 8))
    assert "ValueError" in str(failed.value) and "123" not in str(failed.value)
    assert _children() == before
