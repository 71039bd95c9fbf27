"""Every input of the hostile corpus (hostile_corpus.py) through `carry import`: refused in one plain line with the
record unchanged, or stored and flagged as invalid, never a traceback, a hang or a silent success."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import CORPUS, REFUSE, Hostile
from support.records import KARENA, PASSPHRASE, snapshot

from app.cli import main
from app.record import Record


@pytest.fixture(scope="module")
def shared_record(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    """One record for the whole corpus, holding a patient to lose: each case compares it before and after."""
    path = tmp_path_factory.mktemp("corpus") / "r.carry"
    with Record.create(path, PASSPHRASE) as record:
        record.import_file(demo_dir / KARENA)
    return path


@pytest.fixture
def carry_env(shared_record: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CARRY_RECORD", str(shared_record))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    yield shared_record


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 95 and len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_hostile_input(case: Hostile, carry_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = case.make(tmp_path)
    with Record.open(carry_env, PASSPHRASE) as record:
        before = snapshot(record)
        invalid_before = _invalid(record)
    # The record soon holds several persons (the corpus's Patients): a file whose resources name no patient is
    # imported for the record's first person, as the patient would say with --person.
    status = main(["import", "--person", "1", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "unexpected" not in err
    assert all(unicodedata.category(ch) != "Cc" or ch == "\n" for ch in out + err)
    with Record.open(carry_env, PASSPHRASE) as record:
        after = snapshot(record)
        invalid_after = _invalid(record)
    if case.expect == REFUSE:
        lines = err.strip().splitlines()
        assert status == 1 and len(lines) == 1 and lines[0].startswith("carry: input.json: not imported: "), err
        assert lines[0].endswith(".") and out == ""
        assert after == before
    else:
        assert status == 0, err
        assert "failed validation (kept and flagged)" in out and "  invalid " in out
        assert invalid_after > invalid_before and len(after["resources"]) > len(before["resources"])


def _invalid(record: Record) -> int:
    return int(record.read("SELECT count(*) FROM resource WHERE valid = 0")[0][0])
