"""The query and state layer behind the screens, on a real SQLCipher record of the demo patients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import views as v
from app.record import PassphraseRefused, Record, WrongPassphrase
from support.records import PASSPHRASE
from sync.assets import DEMO_PATIENTS


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    path = tmp_path_factory.mktemp("views") / "record.carry"
    rec = Record.create(path, PASSPHRASE)
    for pattern in ("hospitalInformation*.json", "practitionerInformation*.json", "Carolyne559_*.json",
                    "Elvina_Lemke_*.json", "Karena_Pfeffer_*.json"):  # fmt: skip
        for found in sorted(DEMO_PATIENTS.glob(pattern)):
            rec.import_file(found)
    yield rec
    rec.close()


def _person(record: Record, first: str) -> v.Scope:
    return v.Scope(next(p for p in v.people(record) if first in p.name))


def test_people_are_grouped_and_scope_narrows_every_view(record: Record) -> None:
    names = [p.name for p in v.people(record)]
    assert names == ["Mrs. Carolyne559 Koelpin146", "Mrs. Elvina Lemke", "Ms. Karena Pfeffer"]
    elvina = _person(record, "Elvina")
    assert elvina.person is not None and elvina.person.birth_date == "1953-06-02"
    hits = v.search(record, elvina, "fracture")
    assert all(h.resource_type != "Organization" for h in hits)
    karena = _person(record, "Karena")
    assert any("Fracture" in h.title for h in v.search(record, karena, "fracture"))
    assert not any("Fracture" in h.title for h in hits)


def test_dashboard_lists_what_is_current_with_flags_in_words(record: Record) -> None:
    scope = _person(record, "Elvina")
    dash = v.build_dashboard(record, scope, tuple(v.people(record)))
    assert dash.has_data
    assert "Osteoporosis" in [i.title for i in dash.problems]
    assert all(i.resource_type == "Condition" for i in dash.problems)
    assert "Alendronic acid 10 MG Oral Tablet" in [i.title for i in dash.medications]
    assert [i.title for i in dash.allergies] == ["Shellfish allergy"]
    assert dash.allergies[0].detail.startswith("Low risk")
    a1c = next(i for i in dash.results if i.title.startswith("Hemoglobin A1c"))
    assert a1c.detail == "6.22 %" and a1c.flag is not None and a1c.flag.word == "High"
    assert a1c.range_text == "4–5.6 % (typical adult range)"
    assert len({i.title for i in dash.immunizations}) == len(dash.immunizations)  # latest per vaccine only
    assert dash.encounters[0].date == "3 Nov 2020"


def test_dashboard_of_an_empty_record_is_empty(tmp_path: Path) -> None:
    with Record.create(tmp_path / "empty.carry", PASSPHRASE) as empty:
        dash = v.build_dashboard(empty, v.Scope())
    assert not dash.has_data and dash.problems == () and dash.results == ()


def test_timeline_pages_newest_first_without_gaps_or_repeats(record: Record) -> None:
    scope = _person(record, "Elvina")
    filt = v.TimelineFilter()
    months = v.month_counts(record, scope, filt)
    total = sum(n for _, n in months)
    seen: list[tuple[str, int]] = []
    page = v.timeline_page(record, scope, filt, limit=37)
    while True:
        seen.extend((e.effective, e.rowid) for e in page.entries)
        if page.cursor is None:
            break
        page = v.timeline_page(record, scope, filt, after=page.cursor, limit=37)
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    only_visits = v.TimelineFilter(frozenset({"Visits"}))
    visits = v.timeline_page(record, scope, only_visits, limit=500).entries
    assert visits and {e.resource_type for e in visits} == {"Encounter"}
    jumped = v.timeline_page(record, scope, filt, before_month="2015-06", limit=5).entries
    assert jumped and all(e.effective < "2015-07" for e in jumped)
    everything = v.timeline_page(record, scope, filt, limit=2000).entries
    assert "Claim" not in {e.resource_type for e in everything}  # billing is off until asked for


def test_lab_series_and_blood_pressure(record: Record) -> None:
    scope = _person(record, "Elvina")
    tests = v.lab_tests(record, scope)
    a1c = next(t for t in tests if t.code == "4548-4")
    assert a1c.count == 11 and a1c.latest_value == "6.22 %" and a1c.flag and a1c.flag.word == "High"
    series = v.lab_series(record, scope, "4548-4", a1c.code_system)
    points = series.lines[0].points
    assert len(points) == 11 and [p.effective for p in points] == sorted(p.effective for p in points)
    assert series.lines[0].range and series.lines[0].range.source == "typical"
    assert series.describe().startswith("Chart of Hemoglobin A1c")
    vitals = v.lab_tests(record, scope, "vital-signs")
    bp = next(t for t in vitals if t.code == "55284-4")
    assert bp.latest_value == "134/80 mmHg"
    pressure = v.lab_series(record, scope, "55284-4")
    assert [line.name for line in pressure.lines] == ["Systolic", "Diastolic"]
    assert len(pressure.lines[0].points) == len(pressure.lines[1].points) == 11


def test_documents_are_readable_text(record: Record) -> None:
    scope = _person(record, "Carolyne")
    docs = v.documents(record, scope)
    assert len(docs) == 80 and docs[0].formats == "Text" and docs[0].date == "15 May 2021"
    stored = record.get("DocumentReference", docs[0].id)
    assert stored is not None
    parts = v.attachments(record, stored)
    # Synthea's Markdown note, read without its marks: "# Chief Complaint" is a heading line "Chief Complaint".
    text = parts[0].text or ""
    assert parts[0].kind == "text" and "\nChief Complaint\n" in text and "#" not in text
    assert v.NoteBlock("heading", "Chief Complaint", 1) in parts[0].blocks


def test_html_notes_become_plain_text() -> None:
    text = v.html_to_text("<html><head><style>p{}</style></head><body><h1>Visit</h1><p>Blood &amp; urine"
                          "</p><ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>")  # fmt: skip
    assert text == "Visit\n\nBlood & urine\n\n• one\n\n• two"


def test_detail_shows_fields_raw_json_and_provenance(record: Record) -> None:
    scope = _person(record, "Carolyne")
    doc = v.documents(record, scope)[0]
    info = v.detail(record, "DocumentReference", doc.id)
    assert info is not None and info.kind == "Document" and info.title == "History and physical note"
    fields = dict(info.fields)
    assert fields["Type"].startswith("History and physical note") and fields["Status"] == "Current"
    assert '"resourceType": "DocumentReference"' in info.raw_json
    provenance = dict(info.provenance)
    assert provenance["Source"] == "Imported files"
    assert provenance["Came in with"].startswith("Carolyne559_Koelpin146")
    assert provenance["Recorded"].endswith("by Dr. Joselyn874 Bayer639 for PCP12231")
    assert v.detail(record, "Condition", "no-such-id") is None


def test_search_skips_directory_entries(record: Record) -> None:
    hits = v.search(record, v.Scope(), "hospital")
    assert all(h.resource_type not in ("Organization", "Location", "Practitioner") for h in hits)
    assert v.search(record, v.Scope(), "   ") == []


def test_source_statuses(record: Record) -> None:
    (status,) = v.source_statuses(record)
    assert status.kind_text == "Files you imported" and status.resources == record.count() and status.last_run != "never"


def test_session_create_unlock_lock_and_idle(tmp_path: Path) -> None:
    now = [1000.0]
    session = v.RecordSession(tmp_path / "r.carry", clock=lambda: now[0])
    assert not session.exists()
    with pytest.raises(PassphraseRefused, match="not the same"):
        session.create(PASSPHRASE, PASSPHRASE + "x")
    with pytest.raises(PassphraseRefused, match="at least 8"):
        session.create("short", "short")
    assert not session.exists()
    session.create(PASSPHRASE, PASSPHRASE)
    assert session.unlocked and session.autolock_minutes == v.DEFAULT_AUTOLOCK_MINUTES
    session.set_autolock(5)
    now[0] += 5 * 60 - 1
    assert not session.idle_expired()
    now[0] += 1
    assert session.idle_expired()
    session.lock()
    assert not session.unlocked and not session.idle_expired()
    with pytest.raises(WrongPassphrase, match="does not open this record"):
        session.unlock("not the passphrase")
    session.unlock(PASSPHRASE)
    assert session.autolock_minutes == 5  # kept inside the encrypted record
    with pytest.raises(PassphraseRefused):
        session.set_autolock(7)
    assert PASSPHRASE not in repr(session)
    session.lock()


def test_strength_and_formatting() -> None:
    assert v.strength("short").score == 0
    assert v.strength("password").score == 1
    assert v.strength("correct horse battery staple").score == 4
    assert v.format_date("2021-03-28T04:59:42Z") == "28 Mar 2021" and v.format_date("2021-03") == "Mar 2021"
    assert v.format_value(6.377858990900155, "%") == "6.38 %" and v.format_value(161.06, "mm[Hg]") == "161 mmHg"
    assert v.format_month("2020-11") == "November 2020"
    ref = v.range_for("2093-3", "mg/dL")
    assert ref is not None and v.flag_for(201, ref) is not None and v.flag_for(180, ref) is None
    assert v.range_for("2093-3", "mmol/L") is None  # a range never applies across units
    own = {"referenceRange": [{"low": {"value": 1, "unit": "x"}, "high": {"value": 2, "unit": "x"}}],
           "interpretation": [{"coding": [{"code": "LL"}]}]}  # fmt: skip
    lab = v.range_for("2093-3", "mg/dL", own)
    assert lab is not None and lab.source == "lab" and lab.text() == "1–2 x"
    flag = v.flag_for(1.5, lab, own)
    assert flag is not None and flag.word == "Critical low" and flag.severity == "alert"


def test_source_status_counts_read_with_thousands_separators(tmp_path: Path) -> None:
    lines = [
        json.dumps({"resourceType": "Observation", "id": f"hr-{n}", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "effectiveDateTime": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
                    "valueQuantity": {"value": 60 + n % 40, "unit": "/min"}})  # fmt: skip
        for n in range(1234)
    ]
    path = tmp_path / "readings.ndjson"
    path.write_text("\n".join(lines) + "\n")
    rec = Record.create(tmp_path / "big.carry", PASSPHRASE)
    try:
        rec.import_file(path)
        (status,) = v.source_statuses(rec)
        assert status.last_result == "1,234 new, 0 updated, 0 unchanged"
    finally:
        rec.close()
