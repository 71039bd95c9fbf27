"""Patient words wherever the screens' data names a kind of record, a status or a test: "Health problem" and
"Lab result" rather than FHIR's type names, "Active" and "Confirmed" rather than the codes, "Hemoglobin A1c"
rather than LOINC's formal name (which stays on the item's page), sync rows that add up pages and do not fill an
empty kind's bar, and the patient's own entries not called imported files. On a real SQLCipher record of the
Synthea demo patients, and a real sync from the sandbox portal over 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from support.portal import log_in_async
from support.records import PASSPHRASE

from app import views as v
from app.portals import Portals
from app.record import Record
from app.record.entries import OWN_SOURCE, Reading, add_entry
from app.views.format import KIND_NAMES, OBSERVATION_KINDS, code_word, kind_plural, plural, tidy_name
from app.views.share import share_choices
from app.views.short_names import SHORT_TEST_NAMES, short_test_name
from app.views.sync_progress import SyncRow, SyncTally, refused_text
from sync.assets import DEMO_PATIENTS
from sync.pull import SyncProgress, SyncReport
from sync.sandbox import SandboxServer

PATIENTS = ("Elvina_Lemke_*.json", "Carolyne559_*.json", "Jesus_Smitham_*.json")
# FHIR's names for the kinds a patient reads about, which no screen may show as a kind ("Condition · 18 May 2013").
_FHIR_TYPE_NAMES = {"Condition", "Observation", "MedicationRequest", "MedicationStatement", "AllergyIntolerance",
                    "DiagnosticReport", "DocumentReference", "Encounter", "ImagingStudy", "CarePlan", "Patient",
                    "Medication", "Organization", "Practitioner", "ExplanationOfBenefit"}  # fmt: skip
_BARE_CODE = re.compile(r"^[a-z]+(?:-[a-z]+)*$")  # 'active', 'confirmed', 'entered-in-error'
_RAW_PARTS = re.compile(r"\{coding|system:|\bcode: ")  # a structure printed as it is
_FHIR_LABEL = re.compile(r"\b(?:boolean|telecom|criticality)\b", re.IGNORECASE)
_LOINC_FORMAL = re.compile(r"\[|\b(?:in|of) (?:Serum|Plasma|Blood)\b|by Automated|\.total\b")


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    rec = Record.create(tmp_path_factory.mktemp("words") / "record.carry", PASSPHRASE)
    for pattern in ("hospitalInformation*.json", "practitionerInformation*.json", *PATIENTS):
        for found in sorted(DEMO_PATIENTS.glob(pattern)):
            rec.import_file(found)
    yield rec
    rec.close()


def _person(record: Record, name: str) -> v.Scope:
    return v.Scope(next(p for p in v.people(record) if name in p.name))


def _condition(record: Record, display: str, status: str) -> str:
    rows = record.read("SELECT id FROM resource WHERE type = 'Condition' AND display = ? AND status = ?",
                       [display, status])  # fmt: skip
    assert rows, (display, status)
    return str(rows[0][0])


# --- statuses and other codes in words -----------------------------------------------------------------------------


def test_a_problems_page_says_active_and_confirmed_in_words(record: Record) -> None:
    item = v.detail(record, "Condition", _condition(record, "Osteoporosis (disorder)", "active"))
    assert item is not None
    fields = dict(item.fields)
    assert item.kind == "Health problem" and item.title == "Osteoporosis" and item.date == "18 May 2013"
    assert fields["Status"] == "Active" and fields["Diagnosis"] == "Confirmed"
    # The raw codes stay where they were received.
    assert '"code": "active"' in item.raw_json and '"code": "confirmed"' in item.raw_json
    resolved = v.detail(record, "Condition", _condition(record, "Acute bronchitis (disorder)", "resolved"))
    assert resolved is not None and dict(resolved.fields)["Status"] == "Resolved"


def test_no_item_page_shows_a_bare_code_or_a_fhir_type_as_its_kind(record: Record) -> None:
    rows = record.read("SELECT type, id, source_id FROM resource WHERE type NOT IN "
                       "('Organization', 'Location', 'Practitioner', 'PractitionerRole') ORDER BY type, rowid")  # fmt: skip
    seen: dict[str, int] = {}
    statuses: set[str] = set()
    for rtype, rid, source_id in rows:
        if seen.get(rtype, 0) >= 40:  # 40 of a kind show its shape
            continue
        seen[rtype] = seen.get(rtype, 0) + 1
        item = v.detail(record, rtype, rid, source_id)
        assert item is not None
        assert item.kind not in _FHIR_TYPE_NAMES, (rtype, item.kind)
        for label, text in item.fields:
            assert not _BARE_CODE.match(text) and not _RAW_PARTS.search(text), f"{rtype}/{rid} {label}: {text}"
            assert not _FHIR_LABEL.search(label), f"{rtype}/{rid} {label}"
            if label == "Status":
                statuses.add(text)
    # What the demo patients' items say of themselves (Synthea's codes, in words).
    assert {"Active", "Resolved", "Completed", "Finished", "Stopped", "Final"} <= statuses
    assert "Replaced by a newer version" in statuses  # Carolyne's earlier notes: DocumentReference 'superseded'
    carolyne = next(p for p in v.people(record) if "Carolyne" in p.name)
    member = carolyne.members[0]
    about = v.detail(record, "Patient", member.patient.split("/")[-1], member.source_id)
    assert about is not None and about.kind == "Personal details"
    fields = dict(about.fields)
    assert fields["Marital status"] == "Married" and fields["Gender"] == "Female"  # Synthea: 'M', 'female'
    assert re.fullmatch(r"[\d-]+", fields["Phone or email"]) and fields["Multiple birth"] == "No"


def test_codes_read_as_words_and_other_text_stays() -> None:
    assert [code_word(c) for c in ("active", "resolved", "confirmed", "on-hold", "refuted", "entered-in-error")] == [
        "Active", "Resolved", "Confirmed", "On hold", "Ruled out", "Entered in error"]  # fmt: skip
    assert code_word("high", "criticality") == "High risk" and code_word("high") == "High"
    # Not codes: a display, a SNOMED or ICD code, a visit class that has its own word.
    assert [code_word(t) for t in ("Osteoporosis", "64859006", "I10", "AMB")] == [
        "Osteoporosis", "64859006", "I10", "Outpatient"]  # fmt: skip


def test_names_in_capitals_read_in_sentence_case_and_abbreviations_stay(record: Record) -> None:
    shouted = sorted({row.code_display for row in record.rows("Observation")
                      if row.code_display and row.code_display.isupper() and " " in row.code_display})  # fmt: skip
    assert len(shouted) >= 5  # Synthea files surveys (antiretroviral and TB regimens) in capitals
    for name in shouted:
        tidy = tidy_name(name)
        assert tidy.lower() == name.lower() and tidy[0].isupper() and any(c.islower() for c in tidy), tidy
    assert [tidy_name(n) for n in ("CURRENT ANTIRETROVIRAL DRUGS USED FOR TREATMENT",
                                   "HIV DNA POLYMERASE CHAIN REACTION, QUALITATIVE", "COVID-19 VACCINE")] == [
        "Current antiretroviral drugs used for treatment", "HIV DNA polymerase chain reaction, qualitative",
        "COVID-19 vaccine"]  # fmt: skip
    # Left as written: a name with small letters, a lone word or abbreviation in capitals.
    assert [tidy_name(n) for n in ("HbA1c in Blood", "LDL", "HEIGHT", "Dr. Shonta Sanford")] == [
        "HbA1c in Blood", "LDL", "HEIGHT", "Dr. Shonta Sanford"]  # fmt: skip


def test_the_summary_says_an_allergys_risk_and_a_goals_state_in_words(record: Record) -> None:
    dash = v.build_dashboard(record, _person(record, "Elvina"))
    (shellfish,) = dash.allergies
    assert shellfish.detail.startswith("Low risk")  # Synthea: criticality 'low'
    goals = [i.detail for i in dash.treatment if i.resource_type == "Goal"]
    assert goals and all(d == "Goal (accepted)" for d in goals)
    assert all(i.kind == "Lab result" for i in dash.results) and dash.results
    assert {i.kind for i in dash.problems} == {"Health problem"}


# --- kinds of record by the patient's names ------------------------------------------------------------------------


def test_every_screen_names_kinds_with_the_one_mapping(record: Record) -> None:
    elvina = _person(record, "Elvina")
    everything = v.TimelineFilter(groups=frozenset(v.GROUPS))
    kinds = {e.kind for e in v.timeline_page(record, elvina, everything, limit=2000).entries}
    assert {"Health problem", "Medicine", "Lab result", "Vital sign", "Visit", "Immunization", "Procedure",
            "Care plan", "Allergy", "Test report"} <= kinds  # fmt: skip
    assert not kinds & _FHIR_TYPE_NAMES
    hits = v.search(record, elvina, "osteoporosis")
    assert hits and {h.kind for h in hits if h.resource_type == "Condition"} == {"Health problem"}
    assert "Health problems" in v.GROUPS and "Conditions" not in v.GROUPS
    for group, types in v.GROUPS.items():  # the timeline's chips too
        assert group in ("Results", "Insurance") or group == kind_plural(types[0]), group
    # One mapping: the plural a sync row or a filter uses is the singular's.
    for rtype, name in KIND_NAMES.items():
        assert kind_plural(rtype) == plural(name) and kind_plural(rtype).lower().startswith(name.lower()[:4])
    assert [kind_plural("Condition"), kind_plural("AllergyIntolerance"), kind_plural("Observation", "laboratory")] == [
        "Health problems", "Allergies", "Lab results"]  # fmt: skip


# --- short names for tests, the full name kept -----------------------------------------------------------------------


# (short name, LOINC's formal name as the demo patients' labs carry it): the table's codes name the right tests.
DEMO_LABS = [
    ("Hemoglobin A1c", "Hemoglobin A1c/Hemoglobin.total in Blood"),
    ("Total protein", "Protein [Mass/volume] in Serum or Plasma"),
    ("ALT (liver enzyme)", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ("eGFR (kidney function)", "Estimated Glomerular Filtration Rate"),
    ("LDL cholesterol", "Low Density Lipoprotein Cholesterol"),
]
DEMO_BLOOD_COUNT = [
    ("White blood cells", "Leukocytes [#/volume] in Blood by Automated count"),
    ("Hemoglobin", "Hemoglobin [Mass/volume] in Blood"),
    ("Platelets", "Platelets [#/volume] in Blood by Automated count"),
]


def test_results_have_short_names_and_keep_the_full_one(record: Record) -> None:
    elvina, jesus = _person(record, "Elvina"), _person(record, "Jesus")
    tests = {t.name: t for t in v.lab_tests(record, elvina)}
    his = {t.name: t.full_name for t in v.lab_tests(record, jesus)}
    assert all(his[short] == full for short, full in DEMO_LABS)
    assert all(tests[short].full_name == full for short, full in DEMO_BLOOD_COUNT)
    for test in [*tests.values(), *v.lab_tests(record, jesus), *v.lab_tests(record, elvina, "vital-signs")]:
        assert not _LOINC_FORMAL.search(test.name) and len(test.name) <= 60, test.name
    a1c = tests["Hemoglobin A1c"]
    series = v.lab_series(record, elvina, a1c.code, a1c.code_system)
    assert series.name == "Hemoglobin A1c" and series.lines[0].name == "Hemoglobin A1c"
    assert series.full_name == "Hemoglobin A1c/Hemoglobin.total in Blood" and series.full_name in series.describe()
    # The item's page: titled short, the full name is its "Name".
    newest = series.lines[0].points[-1]
    item = v.detail(record, newest.resource_type, newest.id, newest.source_id)
    assert item is not None and item.title == "Hemoglobin A1c" and item.kind == "Lab result"
    assert dict(item.fields)["Name"] == "Hemoglobin A1c/Hemoglobin.total in Blood"


def test_the_timeline_search_summary_and_share_use_the_short_names(record: Record) -> None:
    elvina = _person(record, "Elvina")
    labs = v.TimelineFilter(groups=frozenset({"Results"}))
    titles = {e.title for e in v.timeline_page(record, elvina, labs, limit=2000).entries}
    assert "Hemoglobin A1c" in titles and not [t for t in titles if _LOINC_FORMAL.search(t)]
    hits = [h for h in v.search(record, elvina, "a1c") if h.resource_type == "Observation"]  # (and her Goal)
    assert len(hits) == 11 and all(re.fullmatch(r"Hemoglobin A1c: \d+(?:\.\d+)? %", h.title) for h in hits), hits[:2]
    assert not [i.title for i in v.build_dashboard(record, elvina).results if _LOINC_FORMAL.search(i.title)]
    choices = share_choices(record, elvina)
    texts = [i.text for s in choices.sections for i in s.items]
    assert any(t.startswith("Hemoglobin A1c: ") for t in texts)
    assert not [t for t in texts if _LOINC_FORMAL.search(t)]


def test_a_name_outside_the_table_is_cut_where_the_formal_name_goes_on() -> None:
    demo = {(c, d) for c, d in _demo_lab_names()}
    for code, display in demo:
        shown = short_test_name(None, display)  # as if the code were not in the table
        assert shown and not _LOINC_FORMAL.search(shown) and len(shown) <= 60, display
        assert shown.rstrip("…").lower().replace("total ", "") in display.lower(), (display, shown)
    assert short_test_name(None, "Albumin/Creatinine [Mass Ratio] in Urine") == "Albumin/Creatinine"
    assert short_test_name(None, "Bilirubin.total [Mass/volume] in Serum or Plasma") == "Total bilirubin"
    assert short_test_name(None, "Complete blood count (hemogram) panel - Blood by Automated count") == \
        "Complete blood count (hemogram) panel"
    assert short_test_name(None, "Pain severity - 0-10 verbal numeric rating [Score] - Reported") == "Pain severity"
    assert {c for c, _ in demo} <= set(SHORT_TEST_NAMES)  # every lab test of the demo patients has its own name


def _demo_lab_names() -> Iterator[tuple[str, str]]:
    import json

    for path in sorted(DEMO_PATIENTS.glob("*_*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Observation" and res["category"][0]["coding"][0]["code"] == "laboratory":
                coding = res["code"]["coding"][0]
                yield coding["code"], coding["display"]


# --- the sync's rows --------------------------------------------------------------------------------------------------


def test_sync_rows_from_a_real_sync_add_up_pages_and_an_empty_kind_is_not_full(tmp_path: Path) -> None:
    import asyncio

    sandbox = SandboxServer().start()
    try:
        with Record.create(tmp_path / "sync.carry", PASSPHRASE) as rec:
            events: list[SyncProgress] = []
            report = asyncio.run(_sync_elvina(rec, sandbox, events))
    finally:
        sandbox.stop()
    assert report.outcome == "complete"
    tally = SyncTally()
    for event in events:
        tally.add(event)
    during = {row.name: row for row in tally.rows()}
    # Pages summed: before the report, each kind's figure is what the report counts for it.
    for rtype, name in (("Condition", "Health problems"), ("Encounter", "Visits"), ("Immunization", "Immunizations")):
        figures = report.types[rtype]
        assert during[name].received == figures.imported + figures.updated + figures.unchanged > 0, name
    observations = report.types["Observation"]
    results = [r for n, r in during.items() if n in {plural(k) for k in OBSERVATION_KINDS.values()}]
    assert {r.name for r in results} >= {"Lab results", "Vital signs"}
    assert sum(r.received for r in results) == observations.imported + observations.updated + observations.unchanged
    assert tally.work_done(len(events), len(events)) == 1.0
    tally.finish(report)
    rows = tally.rows()
    names = [r.name for r in rows]
    assert not set(names) & _FHIR_TYPE_NAMES and not [n for n in names if "(done)" in n]
    assert {"Health problems", "Medicines", "Lab results", "Vital signs", "Visits", "Personal details"} <= set(names)
    assert names[-2:] == ["Clinicians and places", "Insurance"]  # the shared rows come last
    assert all(r.finished and r.count_text == f"{r.received:,} received" and r.fraction == 1.0 for r in rows
               if r.received)  # fmt: skip
    empty = [r for r in rows if not r.received]
    assert empty and all(r.fraction == 0.0 and r.count_text == "none found" for r in empty)  # Elvina has no notes
    assert "Documents" in [r.name for r in empty]
    # A kind of result the portal was asked for and never had (therapy, activity…) is not a row of its own.
    assert not {"Therapy", "Activity", "Examinations"} & set(names)


def test_what_the_portal_did_not_send_is_said_by_kind(tmp_path: Path) -> None:
    import asyncio

    granted = ["launch/patient", "openid", "fhirUser", "patient/Patient.rs", "patient/Condition.rs"]
    sandbox = SandboxServer().start()
    try:
        with Record.create(tmp_path / "narrow.carry", PASSPHRASE) as rec:
            report = asyncio.run(_sync_elvina(rec, sandbox, [], granted))
    finally:
        sandbox.stop()
    said = refused_text(report)
    assert said.startswith("The portal did not send everything: ") and "(not granted by the portal)" in said
    assert "Allergies (not granted by the portal)" in said or " and more." in said
    assert not [word for word in re.findall(r"[A-Z][A-Za-z]+", said) if word in _FHIR_TYPE_NAMES], said
    assert refused_text(SyncReport.from_json({**report.as_json(), "types": {}})) == ""


async def _sync_elvina(record: Record, sandbox: SandboxServer, events: list[SyncProgress],
                       scopes: list[str] | None = None) -> SyncReport:  # fmt: skip
    login = next(x for x in sandbox.logins if x.username == "elvina")
    portals = Portals(record)
    pending = await portals.begin_connect(sandbox.base_url, "http://127.0.0.1:8123/oauth/callback", scopes=scopes)
    location = await log_in_async(pending.authorize_url, login.username, login.password, scopes=scopes)
    conn = await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    return await portals.sync(conn.id, progress=events.append)


def test_sync_rows_while_arriving_and_after_a_failure() -> None:
    tally = SyncTally()
    lab = "Observation?category=laboratory"
    tally.add(SyncProgress("search", "Observation", lab, page=1, imported=100, total=712))
    tally.add(SyncProgress("search", "Observation", lab, page=2, imported=7, total=712))
    tally.add(SyncProgress("search", "DocumentReference", "DocumentReference", page=1, total=0))
    tally.add(SyncProgress("search", "Condition", "Condition", page=1, imported=3))
    rows = {r.name: r for r in tally.rows()}
    assert rows["Lab results"] == SyncRow("Lab results", 107, 712, False)
    assert rows["Lab results"].count_text == "107 of 712" and rows["Lab results"].fraction == pytest.approx(107 / 712)
    assert rows["Documents"].fraction == 0.0 and rows["Documents"].count_text == "none found"
    assert rows["Health problems"].fraction is None and rows["Health problems"].count_text == "3 so far"
    tally.finish(None, failed=True)
    after = {r.name: r for r in tally.rows()}
    assert after["Lab results"].count_text == "107 before it stopped"
    assert after["Lab results"].fraction == pytest.approx(107 / 712)
    assert after["Health problems"].fraction == 0.0  # no moving bar once the sync has ended
    nothing = SyncTally()  # a portal with no results at all: one row says so
    for category in ("laboratory", "vital-signs"):
        nothing.add(SyncProgress("search", "Observation", f"Observation?category={category}", page=1, total=0))
        nothing.add(SyncProgress("search", "Observation", f"Observation?category={category}", done=True))
    assert [(r.name, r.count_text) for r in nothing.rows()] == [("Results and measurements", "none found")]


# --- the patient's own entries -----------------------------------------------------------------------------------------


def test_own_entries_are_not_called_imported_files(tmp_path: Path) -> None:
    with Record.create(tmp_path / "own.carry", PASSPHRASE) as rec:
        for found in sorted(DEMO_PATIENTS.glob("Elvina_Lemke_*.json")):
            rec.import_file(found)
        add_entry(rec, Reading("blood-pressure", "141/92", when="2025-06-01T09:00"))
        statuses = {s.name: s for s in v.source_statuses(rec)}
    own = statuses[OWN_SOURCE]
    assert own.own and "Imported" not in own.kind_text and "added" in own.kind_text
    assert own.last_run_text.startswith("Last added: ")
    (imported,) = [s for name, s in statuses.items() if name != OWN_SOURCE]
    assert imported.kind_text == "Files you imported" and imported.last_run_text.startswith("Last import: ")
