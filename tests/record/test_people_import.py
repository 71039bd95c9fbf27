"""Issue 12, files that name no patient: an Apple Health export goes into the record of the person the patient
names (`carry import --person`), the only person by default, and a record of several asks whose instead of
leaving the samples nobody's (unseen) or guessing. Health cards and C-CDA name their own patient and are placed as
usual."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.apple_health import heart_rates, write_export
from support.people import alice_bundle, bram_bundle, write_bundle
from support.records import PASSPHRASE

from app.cli import main
from app.record import ImportRefused, Record, people, subject_clause
from app.record.imports import Whose, import_path

pytestmark = pytest.mark.usefixtures("record_env")


@pytest.fixture
def record_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "family.carry"))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_NEW_PASSPHRASE", PASSPHRASE)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _heart_rates(capsys: pytest.CaptureFixture[str], *args: str) -> int:
    code, out, err = _run(capsys, "list", "Observation", "--json", *args)
    assert code == 0, err
    return sum(1 for row in json.loads(out) if row["code"]["code"] == "8867-4")


def test_an_export_goes_to_the_named_person_and_a_record_of_two_asks_whose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "init")[0] == 0
    assert _run(capsys, "import", "--source", "Clinic A", str(write_bundle(tmp_path / "a.json", alice_bundle())))[0] == 0
    assert _run(capsys, "import", "--source", "Clinic B", str(write_bundle(tmp_path / "b.json", bram_bundle())))[0] == 0
    export = write_export(tmp_path / "export.xml", heart_rates(20))
    before = _run(capsys, "people", "--json")[1]

    code, out, err = _run(capsys, "import", str(export))
    assert code == 1 and out == ""
    assert "export.xml: not imported: your record holds 2 persons: 1. Alice Quarrington" in err
    assert "2. Bram Okafor" in err and "--person" in err
    assert _run(capsys, "people", "--json")[1] == before  # refused: nothing stored, nobody added
    code, _, err = _run(capsys, "import", "--person", "Nobody", str(export))
    assert code == 1 and "not imported: no person in your record is called 'Nobody'" in err

    code, out, err = _run(capsys, "import", "--person", "bram", str(export))
    assert code == 0, err
    # 18 heart rates and 2 step counts within two hours: a day's heart rate and a day's steps.
    assert "2 new" in out and "2 items that name no patient were put in the record of Bram Okafor." in out
    assert _heart_rates(capsys, "--person", "Bram") == 1
    assert _heart_rates(capsys, "--person", "Alice") == 0
    listed = json.loads(_run(capsys, "people", "--json")[1])
    assert [p["sources"] for p in listed["people"]] == [["Clinic A"], ["Clinic B", "Imported files"]]
    assert listed["unassigned"] == 1  # Bram's clinic's stray result, as before: nothing of the export
    # The same export again: the same stand-in Patient, so nothing new and nobody new.
    code, out, _ = _run(capsys, "import", "--person", "2", str(export))
    assert code == 0 and "0 new, 0 updated, 2 unchanged" in out
    assert json.loads(_run(capsys, "people", "--json")[1]) == listed

    with Record.open(tmp_path / "family.carry", PASSPHRASE) as record:
        [bram] = [p for p in people(record) if p.name == "Bram Okafor"]
        [stand_in] = [m for m in bram.members if m.source == "Imported files"]
        patient = json.loads(record.read("SELECT resource_json(raw, type, id) FROM resource WHERE rowid = ?", [stand_in.rowid])[0][0])
        assert patient["name"] == [{"text": "Bram Okafor"}] and patient["birthDate"] == "1960-07-15"
        assert stand_in.decided  # the patient's explicit decision, not an automatic placement
        audited = [json.loads(d) for (d,) in record.read("SELECT detail FROM audit WHERE action = 'person-stand-in'")]
        assert audited == [{"new": False, "person": bram.id}]


def test_the_only_person_is_the_default_and_an_empty_record_gets_a_new_one(tmp_path: Path) -> None:
    with Record.create(tmp_path / "one.carry", PASSPHRASE) as record:
        import_path(record, write_bundle(tmp_path / "a.json", alice_bundle()), source="Clinic A")
        report = import_path(record, write_export(tmp_path / "export.xml", heart_rates(10)))
        [alice] = people(record)
        assert report.counts.imported == 2 and alice.sources == ("Clinic A", "Imported files")
        assert not record.rows(where="r.type = 'Observation' AND r.subject IS NULL")

    with Record.create(tmp_path / "empty.carry", PASSPHRASE) as record:
        import_path(record, write_export(tmp_path / "mine.xml", heart_rates(10)), whose=Whose(new=True, name="Robin Ash"))
        [robin] = people(record)
        assert robin.name == "Robin Ash" and robin.birth_date is None
        import_path(record, write_export(tmp_path / "other.xml", heart_rates(5)), whose=Whose(new=True))
        assert [p.name for p in people(record)] == ["Robin Ash", "Unnamed patient"]
        assert not record.rows(where="r.type = 'Observation' AND r.subject IS NULL")


def test_a_file_that_names_its_own_patient_is_placed_as_usual(tmp_path: Path) -> None:
    with Record.create(tmp_path / "two.carry", PASSPHRASE) as record:
        import_path(record, write_bundle(tmp_path / "a.json", alice_bundle()), source="Clinic A")
        import_path(record, write_bundle(tmp_path / "b.json", bram_bundle()), source="Clinic B")
        report = import_path(record, Path(__file__).parents[1] / "data" / "shc" / "example-00-e-file.smart-health-card",
                             online=False)  # fmt: skip
        assert getattr(report, "notes", ()) and report.counts.imported > 0
        assert not any("name no patient" in n for n in getattr(report, "notes", ()))
        assert len(people(record)) == 3


def test_a_fhir_file_whose_results_name_nobody_goes_to_the_chosen_person(tmp_path: Path) -> None:
    readings = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Observation", "id": f"bp{n}", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "effectiveDateTime": f"2025-01-0{n}T08:00:00Z",
        "valueQuantity": {"value": 60 + n, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }} for n in (1, 2)]}  # fmt: skip
    home = write_bundle(tmp_path / "home.json", readings)
    with Record.create(tmp_path / "two.carry", PASSPHRASE) as record:
        import_path(record, write_bundle(tmp_path / "a.json", alice_bundle()), source="Clinic A")
        import_path(record, write_bundle(tmp_path / "b.json", bram_bundle()), source="Clinic B")
        with pytest.raises(ImportRefused, match=r"^home\.json: not imported: your record holds 2 persons: "):
            import_path(record, home)
        assert record.count("Observation") == 3  # the clinics' results only: the refused file left nothing
        report = import_path(record, home, whose=Whose(person="Alice"))
        assert report.counts.imported == 2 and report.counts.invalid == 0
        alice, bram = people(record)
        mine = record.rows(where=subject_clause(alice.subjects)[0] + " AND r.code = '8867-4'",
                           params=subject_clause(alice.subjects)[1])  # fmt: skip
        assert sorted(r.id for r in mine) == ["bp1", "bp2"]
        assert not record.rows(where="r.type = 'Observation' AND r.subject IS NULL")
        # A FHIR file that names its patient is imported as before: no stand-in, nothing asked.
        import_path(record, write_bundle(tmp_path / "b2.json", bram_bundle()), source="Clinic B")
        assert [len(p.members) for p in people(record)] == [2, 1]


def test_a_file_whose_own_patient_comes_after_what_names_nobody_is_imported_as_it_is(tmp_path: Path) -> None:
    # Read as a stream, the Observation that names nobody comes before the file's own Patient: nothing is given a
    # person (the file carries its patient), and nobody is asked whose it is, whatever the record holds.
    late = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "id": "w1", "status": "final", "code": {"text": "Weight"}}},
        {"resource": {"resourceType": "Patient", "id": "late-1", "name": [{"family": "Late", "given": ["Lou"]}]}},
    ]}  # fmt: skip
    with Record.create(tmp_path / "two.carry", PASSPHRASE) as record:
        import_path(record, write_bundle(tmp_path / "a.json", alice_bundle()), source="Clinic A")
        alone = import_path(record, write_bundle(tmp_path / "late.json", late), source="Clinic L")
        assert alone.counts.imported == 2 and not getattr(alone, "notes", ())
        assert [r.subject for r in record.rows(where="r.id = 'w1'")] == [None]
        import_path(record, write_bundle(tmp_path / "b.json", bram_bundle()), source="Clinic B")
        again = import_path(record, write_bundle(tmp_path / "late2.json", late), source="Clinic M")
        assert again.counts.imported == 2 and len(people(record)) == 4  # Lou Late from each clinic, not merged
        assert record._query("SELECT count(*) FROM run WHERE origin = 'late2.json'") == [(1,)]  # the undone try left nothing
