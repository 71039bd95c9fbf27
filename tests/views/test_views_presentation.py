"""What a patient reads: numbers at their source's precision, units in everyday form, blood pressure as
systolic/diastolic, no FHIR vocabulary on any screen, and every stored result somewhere a patient can find it.
On a real SQLCipher record of the Synthea demo patients."""

from __future__ import annotations

import json
import re
from datetime import date
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import views as v
from app.record import Record, subject_clause
from app.views.detail import detail
from support.records import PASSPHRASE
from sync.assets import DEMO_PATIENTS

PATIENTS = ("Carolyne559_*.json", "Elvina_Lemke_*.json")
_DIRECTORY = {"Organization", "Location", "Practitioner", "PractitionerRole"}


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    path = tmp_path_factory.mktemp("presentation") / "record.carry"
    rec = Record.create(path, PASSPHRASE)
    for pattern in ("hospitalInformation*.json", "practitionerInformation*.json", *PATIENTS):
        for found in sorted(DEMO_PATIENTS.glob(pattern)):
            rec.import_file(found)
    yield rec
    rec.close()


def _demo_text() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(DEMO_PATIENTS.glob("*.json")))


# (value, unit) exactly as the Synthea demo patients have them, and how a patient reads them.
SYNTHEA = [
    ("6.27697728752661", "%", "6.28 %"),  # Hemoglobin A1c
    ("3.9170796885740327", "10*6/uL", "3.92 10⁶/µL"),  # red blood cells
    ("5.832721579449118", "10*3/uL", "5.83 10³/µL"),  # white blood cells
    ("29.250417079139638", "kg/m2", "29.3 kg/m²"),  # body mass index
    ("97.65509104323587", "mL/min/{1.73_m2}", "97.7 mL/min/1.73 m²"),  # eGFR
    ("37.115", "C", "37.1 °C"),  # temperature
    ("90.486", "beats/minute", "90.5 beats/min"),  # pulse
    ("169.08", "mmHg", "169 mmHg"),
    ("80942", None, "80942"),  # HIV viral load: whole digits are never dropped
    ("-2.5689280488935755", "{T-score}", "-2.57"),  # a score: UCUM's {annotation} is not a unit
    ("66.30188325512049", "mg/dL", "66.3 mg/dL"),
]


def test_synthea_values_read_at_three_significant_digits_with_everyday_units() -> None:
    demo = _demo_text()
    for value, unit, shown in SYNTHEA:
        assert value in demo  # a real value of the demo patients, not a made-up one
        assert v.format_value(float(value), unit) == shown, (value, unit)


def test_a_number_keeps_the_precision_its_source_wrote() -> None:
    # A lab writes 5.4 or 1.005 or 14.25: that is its precision, and it is kept; zeros never trail.
    assert [v.format_number(x) for x in (5.4, 1.005, 14.25, 120.0, 0.0123456, 12345.678)] == [
        "5.4", "1.005", "14.25", "120", "0.0123", "12346"]
    assert [v.format_unit(u) for u in ("mm[Hg]", "ug/dL", "umol/L", "U/L", "[lb_av]", "Cel")] == [
        "mmHg", "µg/dL", "µmol/L", "U/L", "lb", "°C"]


def test_blood_pressure_reads_systolic_over_diastolic(record: Record) -> None:
    stored = [row.display for row in record.rows(where="r.code = ?", params=["55284-4"])]
    assert stored and "Diastolic Blood Pressure" in stored[0]  # the stored summary, components in FHIR's order
    for text in stored:
        shown = v.readable_measurements(text.split(":", 1)[1].strip())
        assert re.fullmatch(r"\d{2,3}/\d{2,3} mmHg", shown), shown
        systolic, diastolic = (int(n) for n in shown.split(" ")[0].split("/"))
        assert systolic > diastolic
    assert v.readable_measurements("Systolic Blood Pressure 133.5209269803098 mm[Hg]; "
                                   "Diastolic Blood Pressure 80.34522707875533 mm[Hg]") == "134/80 mmHg"


_RAW_UNIT = re.compile(r"mm\[Hg\]|10\*\d|\{[^}]*\}|\bCel\b|/uL\b")
_LONG_DECIMAL = re.compile(r"\d+\.\d{4,}")


def _everyone(record: Record) -> list[v.Scope]:
    return [v.Scope(p) for p in v.people(record)]


def _timeline(record: Record, scope: v.Scope) -> list[v.TimelineEntry]:
    everything = v.TimelineFilter(groups=frozenset(v.GROUPS))
    entries: list[v.TimelineEntry] = []
    after = None
    while True:
        page = v.timeline_page(record, scope, everything, after=after, limit=500)
        entries += page.entries
        if page.cursor is None:
            return entries
        after = page.cursor


def test_timeline_and_search_show_no_raw_numbers_or_units_and_vitals_say_so(record: Record) -> None:
    kinds: dict[str | None, set[str]] = {}
    for scope in _everyone(record):
        for entry in _timeline(record, scope):
            for text in (entry.title, entry.detail):
                assert not _RAW_UNIT.search(text) and not _LONG_DECIMAL.search(text), text
            if entry.resource_type == "Observation":
                kinds.setdefault(entry.category, set()).add(entry.kind)
            assert "'" not in entry.title or re.search(r"\w'\w", entry.title), entry.title  # no 'quoted' words
    assert kinds["vital-signs"] == {"Vital sign"} and kinds["laboratory"] == {"Lab result"}
    assert kinds["survey"] == {"Assessment"}
    for scope in _everyone(record):
        for hit in v.search(record, scope, "blood pressure"):
            assert not _RAW_UNIT.search(hit.title) and not _LONG_DECIMAL.search(hit.title), hit.title


def test_search_lists_the_newest_first_among_equally_good_matches(record: Record) -> None:
    elvina = next(s for s in _everyone(record) if s.person and "Elvina" in s.person.name)
    hits = v.search(record, elvina, "blood pressure")
    stored = {r.id: r.date or "" for r in record.rows(where="r.type = 'Observation'", params=[])}
    dates = [stored[h.id] for h in hits if h.title.lower().startswith("blood pressure")]
    assert len(dates) > 3 and dates == sorted(dates, reverse=True)


# What a patient must never read on an item's page: a reference's address, FHIR's element names, attachment bytes.
_REFERENCE = re.compile(r"\b(?:[A-Z][a-z]+){1,3}/(?=[A-Za-z.\-]*\d)[A-Za-z0-9.\-]{6,}|urn:uuid:|\?identifier=")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{48,}={0,2}")
_FHIR_LABELS = {"Medication codeable concept", "Medication reference", "Intent", "Requester", "Encounter",
                "Authored on", "Service provider", "Subject", "Content", "Value quantity"}  # fmt: skip
_FHIR_WORDS = re.compile(r"\b(?:Attachment|Content type|Reference|Coding|Codeable)\b")


def test_item_pages_name_people_places_and_documents_and_show_no_fhir_vocabulary(record: Record) -> None:
    checked: dict[str, int] = {}
    rows = record.read("SELECT type, id, source_id FROM resource ORDER BY type, rowid")
    for rtype, rid, source_id in rows:
        if rtype in _DIRECTORY or checked.get(rtype, 0) >= 40:  # reference data; 40 of a kind show its shape
            continue
        checked[rtype] = checked.get(rtype, 0) + 1
        item = detail(record, rtype, rid, source_id)
        assert item is not None
        for label, text in item.fields:
            where = f"{rtype}/{rid} {label}: {text[:120]}"
            assert label not in _FHIR_LABELS, where
            assert not _REFERENCE.search(text) and not _BASE64.search(text), where
            assert not _FHIR_WORDS.search(label + " " + text), where
        assert item.raw_json.lstrip().startswith("{")  # the JSON stays, behind "Exactly as received"
    assert {"MedicationRequest", "DocumentReference", "Encounter", "Observation", "Claim"} <= set(checked)
    order = next(rid for rtype, rid, _ in rows if rtype == "MedicationRequest")
    fields = dict(detail(record, "MedicationRequest", order).fields)  # type: ignore[union-attr]
    assert fields["Ordered by"].startswith("Dr. ") and fields["Visit"].startswith("Visit on ")


def _reachable(record: Record, scope: v.Scope) -> set[str]:
    """The ids a patient can reach from some screen's data: the timeline (Insurance included, as when they open
    it), the three kinds of result and each one's values, the summary, the documents."""
    seen = {e.id for e in _timeline(record, scope)}
    for category in ("laboratory", "vital-signs"):
        for test in v.lab_tests(record, scope, category):
            seen |= {p.id for line in v.lab_series(record, scope, test.code, test.code_system).lines for p in line.points}
    for test in v.lab_tests(record, scope, v.OTHER):
        seen |= {value.id for value in v.values_of(record, scope, test)}
    dash = v.build_dashboard(record, scope)
    for items in (dash.problems, dash.medications, dash.allergies, dash.immunizations, dash.results, dash.encounters,
                  dash.treatment, dash.devices):
        seen |= {i.id for i in items}
    documents = v.documents(record, scope)
    seen |= {d.id for d in documents}
    # A note sent twice (a report and a document with the same code and date) is reached through its document.
    told = {(r.code, r.date) for r in record.rows("DocumentReference") if r.id in seen}
    seen |= {r.id for r in record.rows("DiagnosticReport") if (r.code, r.date) in told}
    return seen


def test_every_result_and_record_of_the_demo_patients_has_a_home(record: Record) -> None:
    for scope in _everyone(record):
        assert scope.person is not None
        mine, params = subject_clause(scope.person.subjects)
        stored = record.read(
            f"SELECT r.type, coalesce(r.category, ''), r.id FROM resource r WHERE {mine} AND r.type != 'Patient'",
            params,
        )
        seen = _reachable(record, scope)
        hidden: dict[tuple[str, str], int] = {}
        for rtype, category, rid in stored:
            if rid not in seen:
                hidden[(rtype, category)] = hidden.get((rtype, category), 0) + 1
        assert not hidden, f"{scope.person.name}: stored but on no screen: {hidden}"
        kinds = {(t, c) for t, c, _ in stored}
        assert ("Observation", "survey") in kinds  # the walk covers the categories that used to be hidden


def test_other_results_and_the_treatment_on_the_summary(record: Record) -> None:
    carolyne = next(s for s in _everyone(record) if s.person and "Carolyne" in s.person.name)
    other = {t.name: t for t in v.lab_tests(record, carolyne, v.OTHER)}
    regimen = other["Current antiretroviral drugs used for treatment"]
    values = v.values_of(record, carolyne, regimen)
    assert len(values) == regimen.count > 100 and values[0].effective >= values[-1].effective  # type: ignore[operator]
    assert all(value.text for value in values)
    # The latest value of a regimen is every answer of its latest day (one drug each), not one picked at random.
    newest_day = {value.text for value in values if value.effective == values[0].effective}
    assert len(newest_day) > 1 and set(regimen.latest_value.split(", ")) == newest_day
    treatment = v.build_dashboard(record, carolyne).treatment
    titles = {i.title for i in treatment}
    assert "Current antiretroviral drugs used for treatment" in titles and "Tuberculosis treatment plan" in titles
    assert all(i.detail for i in treatment)


def test_an_old_order_still_called_active_says_how_old_it_is(record: Record) -> None:
    elvina = next(s for s in _everyone(record) if s.person and "Elvina" in s.person.name)
    meds = v.build_dashboard(record, elvina).medications
    assert meds
    for item in meds:
        stored = record.get(item.resource_type, item.id, item.source_id)
        assert stored is not None
        age = v.years_since(stored.row.date)
        assert age is not None
        said = re.search(r"last ordered (\d+) years? ago", item.detail)
        if age >= 2:
            assert said and int(said.group(1)) == age, item.detail
        else:
            assert not said, item.detail
    assert any("last ordered" in item.detail for item in meds)
    assert v.years_since("2020-11-03", date(2026, 11, 2)) == 5 and v.years_since("2020-11-03", date(2026, 11, 3)) == 6


def test_documents_have_type_date_author_preview_a_filter_and_a_search(record: Record) -> None:
    carolyne = next(s for s in _everyone(record) if s.person and "Carolyne" in s.person.name)
    docs = v.documents(record, carolyne)
    assert len(docs) == 80
    for doc in docs:
        assert doc.kind == "History and physical note" and doc.date and doc.author.startswith("Dr. ")
        assert doc.preview and not doc.preview.startswith(("#", "19", "20")) and len(doc.preview) <= 161
    assert v.document_kinds(record, carolyne) == ["History and physical note"]
    assert v.documents(record, carolyne, kind="Discharge summary") == []
    found = v.documents(record, carolyne, search="Tuberculosis")
    assert 0 < len(found) < len(docs)
    for doc in found:  # every hit holds the word, in its text if not in its title
        stored = record.get(doc.resource_type, doc.id, doc.source_id)
        assert stored is not None
        text = " ".join(a.text or "" for a in v.attachments(record, stored))
        assert "tuberculosis" in (doc.title + text).lower()


def test_the_timeline_has_one_entry_per_note(record: Record) -> None:
    carolyne = next(s for s in _everyone(record) if s.person and "Carolyne" in s.person.name)
    entries = _timeline(record, carolyne)
    notes = [e for e in entries if e.resource_type == "DocumentReference"]
    reports = [e for e in entries if e.resource_type == "DiagnosticReport"]
    assert len(notes) == 80
    assert not [e for e in reports if (e.title, e.date) in {(n.title, n.date) for n in notes}]
    # Without the documents in the filter, the reports are the notes' only entries, and they come back.
    only_results = v.TimelineFilter(groups=frozenset({"Results"}))
    page = v.timeline_page(record, carolyne, only_results, limit=2000)
    assert sum(e.resource_type == "DiagnosticReport" for e in page.entries) == 80


def test_a_goal_repeated_with_every_plan_is_one_line_of_the_summary(tmp_path: Path) -> None:
    # A portal that restates a goal with each care plan sends it under a new id every time (hundreds on a long
    # record, and hundreds of lines on the summary before): one line per goal as said, its words, status and sources.
    def goal(n: int, text: str, status: str) -> dict[str, Any]:
        return {"resourceType": "Goal", "id": f"g{n}", "lifecycleStatus": status, "description": {"text": text},
                "subject": {"reference": "Patient/p1"}}  # fmt: skip

    goals = [goal(n, "Maintain blood pressure below 140/90 mmHg", "active") for n in range(6)]
    goals += [goal(6, "Maintain blood pressure below 140/90 mmHg", "completed"), goal(7, "Walk daily", "active")]
    with Record.create(tmp_path / "goals.carry", PASSPHRASE) as rec:
        rec.import_bytes(b"\n".join(json.dumps(g).encode() for g in goals), origin="goals.ndjson")
        lines = [(i.title, i.detail) for i in v.build_dashboard(rec, v.Scope()).treatment]
    assert sorted(lines) == [("Maintain blood pressure below 140/90 mmHg", "Goal (active)"),
                             ("Maintain blood pressure below 140/90 mmHg", "Goal (completed)"),
                             ("Walk daily", "Goal (active)")]  # fmt: skip
