"""Issue 12 in the views: two clinics that both call their patient `Patient/1` (Alice at A, Bram at B).

Whatever a screen shows for one person — summary, timeline, results, documents, search, medications, the share
screen's candidates — holds none of the other person's data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from support.people import ALICE_WORDS, BRAM_WORDS, alice_bundle, bram_bundle
from support.records import PASSPHRASE

import app.views as v
from app.record import Record
from app.views.merged import cached_medications
from app.views.share import share_choices


@pytest.fixture(scope="module")
def clinics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    record = Record.create(tmp_path_factory.mktemp("people") / "two.carry", PASSPHRASE)
    record.import_bytes(json.dumps(alice_bundle()).encode(), origin="alice.json", source="Clinic A")
    record.import_bytes(json.dumps(bram_bundle()).encode(), origin="bram.json", source="Clinic B")
    yield record
    record.close()


def _shown(record: Record, scope: v.Scope) -> dict[str, str]:
    dashboard = v.build_dashboard(record, scope, tuple(v.people(record)))
    page = v.timeline_page(record, scope, v.TimelineFilter())
    choices = share_choices(record, scope)
    assert choices.selection is not None, choices.problem
    return {
        "summary": repr(replace(dashboard, people=())),  # the picker lists everyone; the rest is one person's
        "timeline": repr(page.entries),
        "results": repr(v.lab_tests(record, scope)),
        "documents": repr(v.documents(record, scope)),
        "search": repr([v.search(record, scope, word) for word in ("allergy", "clinic", "mellitus", "inhaler", "Gout")]),
        "medications": repr(cached_medications(record, scope.subjects)),
        "share": repr([(c.display, c.resource) for c in choices.selection.items]) + repr(choices.selection.patient),
    }


@pytest.mark.parametrize(
    ("name", "theirs", "own"),
    [("Alice Quarrington", BRAM_WORDS, ("Asthma", "Glucose", "Peanut", "Albuterol")),
     ("Bram Okafor", ALICE_WORDS, ("Gout", "Hemoglobin A1c", "Shellfish", "Allopurinol"))],
)  # fmt: skip
def test_no_view_of_one_person_shows_the_others_data(
    clinics: Record, name: str, theirs: tuple[str, ...], own: tuple[str, str, str, str]
) -> None:
    problem, result, allergy, drug = own
    everyone = v.people(clinics)
    assert [p.name for p in everyone] == ["Alice Quarrington", "Bram Okafor"]
    person = next(p for p in everyone if p.name == name)
    shown = _shown(clinics, v.Scope(person))
    for screen, text in shown.items():
        leaked = [w for w in theirs if w.lower() in text.lower()]
        assert leaked == [], f"{screen} of {name} shows {leaked}"
        assert "Cholesterol stray" not in text, screen  # about a patient nobody knows: nobody's
    assert problem in shown["summary"] and problem in shown["timeline"] and problem in shown["share"]
    assert result in shown["results"] and allergy in shown["search"] and drug in shown["medications"]


def test_the_shell_scope_keeps_each_person_to_their_own_source(clinics: Record) -> None:
    alice, bram = v.people(clinics)
    assert alice.subjects == ((1, "Patient/1"),) and bram.subjects == ((2, "Patient/1"),)
    scope = v.Scope(alice)
    assert scope.admits(1, "Patient/1") and not scope.admits(2, "Patient/1") and not scope.admits(2, "Patient/99")

