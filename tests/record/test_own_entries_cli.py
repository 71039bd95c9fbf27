"""`carry add`, `carry edit`, `carry delete`, `carry entries`, and the patient's entries in a summary they share:
in-process through app.cli.main, on a real record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.records import KARENA, PASSPHRASE

from app.cli import main
from app.record import Record
from app.shares import build_check_in, build_summary, candidates
from sync.share import check_ips


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def karena(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], demo_dir: Path) -> Path:
    path = tmp_path / "record.carry"
    monkeypatch.setenv("CARRY_RECORD", str(path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_NEW_PASSPHRASE", PASSPHRASE)
    assert _run(capsys, "init")[0] == 0
    assert _run(capsys, "import", str(demo_dir / KARENA))[0] == 0
    return path


def test_add_edit_delete_and_history_from_the_command_line(karena: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "add", "reading", "blood-pressure", "132/86", "--when", "2026-01-05T07:45", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["display"] == "Blood pressure 132/86 mm[Hg]" and added["version"] == 1
    code, out, err = _run(capsys, "add", "medicine", "Ibuprofen", "--dose", "200 mg when needed")
    assert code == 0 and out.startswith("Added MedicationStatement/"), err
    code, out, _ = _run(capsys, "add", "symptom", "dizzy", "spells", "--severity", "mild")
    assert code == 0 and "Symptom: dizzy spells (mild)" in out
    code, out, _ = _run(capsys, "add", "allergy", "penicillin", "--reaction", "hives", "--intolerance")
    assert code == 0 and "Intolerance: penicillin (hives)" in out

    medicine = json.loads(_run(capsys, "entries", "--json")[1])
    ibuprofen = next(e for e in medicine if e["kind"] == "medicine")
    code, out, err = _run(capsys, "edit", ibuprofen["ref"].split("/")[1], "--text", "Ibuprofen 400 mg", "--json")
    assert code == 0 and json.loads(out)["display"] == "Medicine: Ibuprofen 400 mg, 200 mg when needed", err
    code, out, err = _run(capsys, "edit", added["ref"], "--value", "128/84", "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == 2 and json.loads(out)["display"] == "Blood pressure 128/84 mm[Hg]"
    code, out, _ = _run(capsys, "entries", "--json")
    listed = json.loads(out)
    assert len(listed) == 4 and {e["ref"] for e in listed} >= {added["ref"]}

    assert _run(capsys, "delete", added["ref"])[0] == 0
    code, out, _ = _run(capsys, "entries", "--history", added["ref"])
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [["v1", "added"], ["v2", "edited"], ["v3", "deleted"]]
    assert "132/86" in lines[0] and "128/84" in lines[1]
    code, out, _ = _run(capsys, "entries", "--deleted")
    assert added["ref"] in out and "deleted" in out
    code, out, _ = _run(capsys, "list", "Observation", "--json")
    assert added["ref"].split("/")[1] not in out


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("add", "reading", "blood-pressure", "70/110"), "must be greater than the diastolic"),
        (("add", "reading", "weight", "-3"), "not plausible"),
        (("add", "symptom", "headache", "--onset", "tomorrow"), "not a date"),
        (("edit", "Observation/nope", "--value", "1"), "not one of your own entries"),
        (("delete", "Patient/1"), "not one of your own entries"),
    ],
)
def test_bad_entries_are_refused_in_one_line(
    karena: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], sentence: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and sentence in err
    assert json.loads(_run(capsys, "entries", "--json")[1]) == []


def test_a_reading_the_patient_added_goes_into_a_summary_marked_as_theirs(
    karena: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "add", "reading", "blood-pressure", "131/85", "--json")
    assert code == 0, err
    ref = json.loads(out)["ref"]
    code, out, err = _run(capsys, "share", "--dry-run", "--json", "-")
    assert code == 0, err
    offered = [c for c in json.loads(out) if c["section"] == "vital-signs" and "Your own entries" in c["sources"]]
    assert len(offered) == 1
    with Record.open(karena, PASSPHRASE) as record:
        selection = candidates(record).pick(add=[offered[0]["id"]])
        ips = build_summary(record, selection)
        assert check_ips(ips) == []
        mine = [e["resource"] for e in ips["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code")
                == "85354-9" and e["resource"]["resourceType"] == "Observation"]  # fmt: skip
        assert len(mine) == 1
        assert {"PATAST"} <= {s["code"] for s in mine[0]["meta"]["security"]}
        assert "patient-supplied" in {t["code"] for t in mine[0]["meta"]["tag"]}
        section = next(s for s in ips["entry"][0]["resource"]["section"] if s["code"]["coding"][0]["code"] == "8716-3")
        urls = {e["fullUrl"] for e in ips["entry"] if e["resource"] is mine[0]}
        assert urls and {e["reference"] for e in section["entry"]} >= urls
        ktc = build_check_in(record, candidates(record).pick(sections=["vital-signs"], add=[offered[0]["id"]]))
        mine_ktc = [e["resource"] for e in ktc["entry"] if e["resource"].get("id") == ref.split("/")[1]]
        assert mine_ktc and mine_ktc[0]["meta"]["security"][0]["code"] == "PATAST"


def test_every_kind_of_entry_is_shared_by_default_and_marked_patient_asserted(karena: Path) -> None:
    from app.record.entries import Allergy, Medicine, Reading, Symptom, add_entry
    from sync.share import check_ktc

    with Record.open(karena, PASSPHRASE) as record:
        ids = {add_entry(record, draft).id for draft in (
            Medicine("Ibuprofen", dose="200 mg when needed", since="2026-01-01"),
            Symptom("Headache", severity="mild"),
            Allergy("Shellfish", reaction="hives", criticality="high"),
            Reading("glucose", "5.9", unit="mmol/L"),
        )}  # fmt: skip
        selection = candidates(record)
        mine = {c.section for c in selection.items if "Your own entries" in c.sources and c.default}
        assert mine == {"problems", "allergies", "medications", "results"}
        for bundle in (build_summary(record, selection), build_check_in(record, selection)):
            shared = [e["resource"] for e in bundle["entry"] if e["resource"].get("id") in ids]
            assert len(shared) == 4
            assert all("PATAST" in {s["code"] for s in r["meta"]["security"]} for r in shared)
        assert check_ips(build_summary(record, selection)) == []
        assert check_ktc(build_check_in(record, selection)) == []
