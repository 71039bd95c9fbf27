"""Issue 12, end to end through the command line: two clinics that both call their patient `Patient/1`.

Alice is Patient/1 at Clinic A, Bram is Patient/1 at Clinic B. Everything Carry shows or writes for one of them —
list, search, medications, the summary's candidates, the IPS and PDF it shares, the export — holds none of the
other's data, and a record of two persons asks whose before it shows anything.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pypdf
import pytest
from support.people import ALICE_WORDS, BRAM_WORDS, alice_bundle, bram_bundle, child_bundle, write_bundle
from support.records import PASSPHRASE

from app.cli import main
from sync.share import check_ips


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def two_clinics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "family.carry"))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_NEW_PASSPHRASE", PASSPHRASE)
    assert _run(capsys, "init")[0] == 0
    alice = write_bundle(tmp_path / "alice.json", alice_bundle())
    bram = write_bundle(tmp_path / "bram.json", bram_bundle())
    assert _run(capsys, "import", "--source", "Clinic A", str(alice))[0] == 0
    assert _run(capsys, "import", "--source", "Clinic B", str(bram))[0] == 0
    return tmp_path


def _none_of(words: tuple[str, ...], text: str) -> list[str]:
    return [w for w in words if w.lower() in text.lower()]


def test_carry_people_lists_both_and_a_record_of_two_asks_whose(two_clinics: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "people", "--json")
    listed = json.loads(out)
    assert code == 0
    assert [(p["id"], p["name"], p["birth_date"], p["sources"]) for p in listed["people"]] == [
        (1, "Alice Quarrington", "1987-02-03", ["Clinic A"]),
        (2, "Bram Okafor", "1960-07-15", ["Clinic B"]),
    ]
    assert listed["proposals"] == [] and listed["unassigned"] == 1
    code, out, _ = _run(capsys, "people")
    assert "1. Alice Quarrington, born 1987-02-03 (Clinic A)" in out and "Unassigned: 1 resources" in out
    for command in (["list"], ["search", "allergy"], ["meds"], ["share", "--dry-run"], ["export"], ["list", "--merged"]):
        code, out, err = _run(capsys, *command)
        assert code == 1 and out == "", command
        assert "holds 2 persons" in err and "Alice Quarrington" in err and "Bram Okafor" in err, command
    code, _, err = _run(capsys, "list", "--person", "Carol")
    assert code == 1 and "No person in your record is called 'Carol'" in err
    # The resource about a patient clinic B never sent is kept, and listed as unassigned: nobody's.
    code, out, _ = _run(capsys, "list", "--unassigned")
    assert code == 0 and "Cholesterol stray" in out and len(out.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("who", "mine", "theirs", "own"),
    [("Alice Quarrington", ALICE_WORDS, BRAM_WORDS, ("Asthma", "Peanut allergy", "Albuterol", "Spirometry")),
     ("bram", BRAM_WORDS, ALICE_WORDS, ("Gout", "Shellfish allergy", "Allopurinol", "Podiatry"))],
)  # fmt: skip
def test_each_persons_views_shares_and_export_hold_none_of_the_other(
    two_clinics: Path,
    capsys: pytest.CaptureFixture[str],
    who: str,
    mine: tuple[str, ...],
    theirs: tuple[str, ...],
    own: tuple[str, str, str, str],
) -> None:
    problem, allergy, drug, visit = own
    seen: dict[str, str] = {}
    for name, command in {
        "list": ["list", "--person", who, "--json"],
        "merged": ["list", "--merged", "--person", who],
        "search": ["search", "clinic", "visit", "--person", who],
        "search-allergy": ["search", "allergy", "--person", who],
        "meds": ["meds", "--person", who, "--json"],
        "dry-run": ["share", "--dry-run", "--person", who],
    }.items():
        code, out, err = _run(capsys, *command)
        assert code == 0, (name, err)
        assert _none_of(theirs, out) == [], name
        seen[name] = out
    assert all(w in seen["list"] for w in own) and "Cholesterol stray" not in seen["list"]  # unassigned is nobody's
    assert problem in seen["merged"] and visit in seen["search"] and allergy in seen["search-allergy"]
    assert problem in seen["dry-run"] and drug in seen["dry-run"]
    meds = json.loads(seen["meds"])
    assert len(meds["current"]) == 1 and drug in meds["current"][0]["display"]

    ips_path, pdf_path, export_path = (two_clinics / n for n in ("ips.json", "summary.pdf", "export.json"))
    code, out, err = _run(capsys, "share", "--person", who, "--json", str(ips_path), "--pdf", str(pdf_path))
    assert code == 0, err
    assert err.startswith("Summary of ")  # the person is named before the link is made
    bundle = json.loads(ips_path.read_text())
    patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1 and check_ips(bundle) == []
    assert [i["value"] for i in patients[0]["identifier"]] == [mine[-1]]
    assert _none_of(theirs, ips_path.read_text()) == []
    pdf_text = "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert mine[0] in pdf_text and _none_of(theirs, pdf_text) == []

    code, _, err = _run(capsys, "export", "--person", who, "--out", str(export_path))
    assert code == 0, err
    exported = export_path.read_text()
    types = [e["resource"]["resourceType"] for e in json.loads(exported)["entry"]]
    assert types.count("Patient") == 1 and "Practitioner" in types  # their own clinic's practitioner comes along
    assert _none_of(theirs, exported) == [] and "Cholesterol stray" not in exported
    for written in (ips_path, pdf_path, export_path):  # health data on disk: the owner's only
        assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_merge_split_rename_from_the_command_line(two_clinics: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "people", "rename", "2", "Grandpa Bram")
    assert code == 0 and "Person 2 is now called Grandpa Bram" in out
    code, out, _ = _run(capsys, "people", "merge", "1", "2")
    assert code == 0 and "is now one person, from Clinic A, Clinic B" in out
    code, out, _ = _run(capsys, "list", "--merged")  # one person now: no need to name them
    assert code == 0 and "Gout" in out and "Asthma" in out
    code, out, _ = _run(capsys, "people", "split", "1", "2")
    assert code == 0 and "Split:" in out
    code, out, _ = _run(capsys, "people", "--json")
    assert [p["sources"] for p in json.loads(out)["people"]] == [["Clinic A"], ["Clinic B"]]
    for bad, message in ((["people", "merge", "1"], "Name the two persons"), (["people", "split", "1"], "one record only"),
                         (["people", "rename", "1", "x" * 81], "at most 80"), (["people", "merge", "1", "1"], "already one")):  # fmt: skip
        code, _, err = _run(capsys, *bad)
        assert code in (1, 2) and message in err, bad


def test_a_child_imported_into_a_parents_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "family.carry"))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_NEW_PASSPHRASE", PASSPHRASE)
    assert _run(capsys, "init")[0] == 0
    # Both files go to the same source ("Imported files"), and both call their patient Patient/1.
    assert _run(capsys, "import", str(write_bundle(tmp_path / "me.json", alice_bundle())))[0] == 0
    assert _run(capsys, "import", "--source", "Children's Hospital", str(write_bundle(tmp_path / "theo.json", child_bundle())))[0] == 0
    code, out, _ = _run(capsys, "people")
    assert code == 0
    assert out.splitlines()[0].startswith("1. Alice Quarrington, born 1987-02-03 (Imported files)")
    assert "2. Theo Quarrington, born 2019-08-30 (Children's Hospital)" in out
    code, out, _ = _run(capsys, "list", "Condition", "--person", "Theo")
    assert code == 0 and "Otitis media" in out and "Asthma" not in out
    code, _, err = _run(capsys, "list", "Condition", "--person", "quarrington")
    assert code == 1 and "fits 2 persons" in err


def test_a_proposal_is_merged_or_kept_apart_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "same.carry"))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_NEW_PASSPHRASE", PASSPHRASE)
    assert _run(capsys, "init")[0] == 0
    shouting = write_bundle(tmp_path / "a.json", alice_bundle(family="QUARRINGTON", given="ALICE"))
    plain = write_bundle(tmp_path / "b.json", alice_bundle())
    assert _run(capsys, "import", "--source", "Clinic A", str(shouting))[0] == 0
    assert _run(capsys, "import", "--source", "Clinic B", str(plain))[0] == 0
    code, out, _ = _run(capsys, "people")
    assert code == 0 and "Perhaps one person: 1 and 2 have the same name and birth date" in out
    code, _, err = _run(capsys, "meds")
    assert code == 1 and "1 and 2 may be one person. Say whose with --person" in err
    assert "`carry people merge 1 2` makes 1 and 2 one." in err
    assert _run(capsys, "people", "apart", "1", "2")[0] == 0
    code, out, _ = _run(capsys, "people", "--json")
    assert json.loads(out)["proposals"] == [] and len(json.loads(out)["people"]) == 2
    # Imported again (a re-sync): still two, and not proposed again.
    assert _run(capsys, "import", "--source", "Clinic B", str(plain))[0] == 0
    code, out, _ = _run(capsys, "people")
    assert "Perhaps one person" not in out and "2. Alice Quarrington" in out
    assert _run(capsys, "people", "merge", "1", "2")[0] == 0  # she changes her mind: one person after all
    code, out, err = _run(capsys, "meds", "--json")
    assert code == 0, err
    (albuterol,) = json.loads(out)["current"]
    assert albuterol["sources"] == ["Clinic A", "Clinic B"]
