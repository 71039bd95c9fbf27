"""`carry list --merged`, `carry facts show|confirm|split|reset` and `carry meds`, in-process through main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.copies import confirm_one_person
from support.records import ELVINA, PASSPHRASE
from test_facts_sources import NAPROXEN, rewrite_ids

from app.cli import main
from app.record import Record

FACT_KEYS = {"fact_id", "resourceType", "display", "date", "status", "confidence", "reasons", "sources", "possible_matches"}


@pytest.fixture
def two_sources(tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.carry"
    original = json.loads((demo_dir / ELVINA).read_bytes())
    copy_b, _ = rewrite_ids(original, "clinic-b")
    with Record.create(path, PASSPHRASE) as record:
        record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
        record.import_bytes(json.dumps(copy_b).encode(), origin="b.json", source="Clinic B")
        confirm_one_person(record)
    monkeypatch.setenv("CARRY_RECORD", str(path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_list_merged_shows_each_fact_once(two_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = _json(capsys, "list", "Condition", "--json")
    merged = _json(capsys, "list", "Condition", "--merged", "--json")
    assert isinstance(plain, list) and isinstance(merged, list)
    assert len(plain) == 24 and len(merged) == 12
    assert all(set(f) == FACT_KEYS and [s["source"] for s in f["sources"]] == ["Clinic A", "Clinic B"] for f in merged)
    assert main(["list", "MedicationRequest", "--merged"]) == 0
    text = capsys.readouterr().out
    assert text.count("Naproxen sodium 220 MG Oral Tablet") == 1
    assert "from 2 records: Clinic A, Clinic B (newest)" in text


def test_split_confirm_reset_from_the_command_line(two_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    merged = _json(capsys, "list", "MedicationRequest", "--merged", "--json")
    assert isinstance(merged, list)
    naproxen = next(f for f in merged if any(s["id"] == NAPROXEN for s in f["sources"]))
    shown = _json(capsys, "facts", "show", naproxen["fact_id"], "--json")
    assert shown == naproxen
    assert main(["facts", "show", naproxen["fact_id"]]) == 0
    assert "2. Clinic B: MedicationRequest/" in capsys.readouterr().out

    assert main(["facts", "split", naproxen["fact_id"], "2"]) == 0
    assert "Split into 2 facts" in capsys.readouterr().out
    after = _json(capsys, "list", "MedicationRequest", "--merged", "--json")
    assert isinstance(after, list) and len(after) == len(merged) + 1
    ids = [f["fact_id"] for f in after if f["display"].startswith("Naproxen")]
    assert len(ids) == 2

    assert main(["facts", "confirm", *ids]) == 0
    assert "is one fact" in capsys.readouterr().out
    again = _json(capsys, "list", "MedicationRequest", "--merged", "--json")
    assert isinstance(again, list) and len(again) == len(merged)
    confirmed = next(f for f in again if f["display"].startswith("Naproxen"))
    assert confirmed["confidence"] == "confirmed"

    assert main(["facts", "reset", confirmed["fact_id"]]) == 0
    capsys.readouterr()
    assert _json(capsys, "facts", "show", confirmed["fact_id"], "--json")["confidence"] == "same"  # type: ignore[index]


def test_bad_input_is_a_plain_message(two_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["facts", "show", "fnothere"]) == 1
    err = capsys.readouterr().err
    assert "There is no fact 'fnothere' in the record. `carry list --merged` lists the facts and their ids" in err
    merged = _json(capsys, "list", "Condition", "--merged", "--json")
    assert isinstance(merged, list)
    fact_id = merged[0]["fact_id"]
    assert main(["facts", "split", fact_id, "7"]) == 1
    assert "there is no number 7" in capsys.readouterr().err
    assert main(["facts", "split", fact_id, "1", "2"]) == 1
    assert "Leave at least one" in capsys.readouterr().err
    assert main(["facts", "split", fact_id, "Condition/nothere"]) == 1
    err = capsys.readouterr().err
    assert f"Condition/nothere is not part of fact {fact_id}." in err and "`carry facts show FACT_ID`" in err
    assert main(["list", "--merged", "--invalid"]) == 2
    capsys.readouterr()
    with Record.open(two_sources, PASSPHRASE) as record:
        assert record.read("SELECT count(*) FROM fact_decision") == [(0,)]


def test_meds_lists_each_medication_once(two_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meds = _json(capsys, "meds", "--json")
    assert isinstance(meds, dict) and set(meds) == {"current", "stopped", "conflicts", "allergy_flags"}
    assert [m["display"] for m in meds["current"]] == ["Alendronic acid 10 MG Oral Tablet", "Naproxen sodium 220 MG Oral Tablet"]
    assert meds["current"][1]["sources"] == ["Clinic A", "Clinic B"]
    assert main(["meds"]) == 0
    text = capsys.readouterr().out
    assert "Current medications (2):" in text and "by Dr. Shonta Sanford" in text
