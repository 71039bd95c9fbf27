"""Importing any file the patient brings: the importers of sync.importers first (health cards, Apple Health
exports, recognised by content), FHIR JSON through the record's own import otherwise.

A file is imported whole or not at all: an importer's resources are stored as they stream in, inside one
transaction that is rolled back if the importer fails part way. They are stored "not checked yet" and validated
right after, as a sync's are (app.record.checking).

Whose a file is: a health card or a C-CDA document names its own Patient and is placed as every source's Patient
is (app.record.people). A file whose resources name no patient (an Apple Health export) would leave them nobody's
and unseen, so they are given a subject: a Patient of the import's own source that stands for the person the
patient chose (`person`; the only person when there is one, a new person when there is nobody; a record of
several refuses and says who there is). Never a guess.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.fhir.parse import ParsedResource
from sync.heap import heap_set_aside
from sync.importers import (
    DocumentFileImporter, ImportContext, ImportFailed, Importer, Proposal, parsed, proposed, recognise,
)  # fmt: skip

from .checking import check_pending
from .errors import ImportRefused
from .files import check_regular_file, display_name, open_import_file
from .people import Person, PersonError, choose_person, people, stand_in
from .store import FILE_SOURCE, ImportReport, Record, Source, UpsertCounts, _summary

__all__ = ["FileImportReport", "Whose", "document_proposal", "import_path", "import_with"]

_BATCH = 1000
# The page cache of an import's connection (KiB): see _small_page_cache.
_IMPORT_CACHE_KIB = 8192
# The element that names the patient, for the resource types a file may hold without naming one (FHIR R4).
_SUBJECT_ELEMENT = {
    **dict.fromkeys(("Observation", "Condition", "Procedure", "DiagnosticReport", "DocumentReference", "Encounter",
                     "MedicationRequest", "MedicationStatement", "MedicationAdministration", "CarePlan", "CareTeam",
                     "Goal", "ServiceRequest", "Composition", "QuestionnaireResponse", "ClinicalImpression",
                     "RiskAssessment", "Media"), "subject"),  # fmt: skip
    **dict.fromkeys(("AllergyIntolerance", "Immunization", "FamilyMemberHistory"), "patient"),
}


@dataclass(frozen=True)
class FileImportReport(ImportReport):
    """An import's report with what the importer had to say besides the counts (a card not verified)."""

    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "notes": list(self.notes)}


@dataclass(frozen=True)
class Whose:
    """The patient's word on whose a file is, for what in it names no patient: a person by number or name
    (`person`), or a new person (`new`, called `name`); neither: the only person the record holds."""

    person: str | None = None
    new: bool = False
    name: str = ""


def import_path(
    record: Record,
    path: str | os.PathLike[str],
    *,
    source: str = FILE_SOURCE,
    online: bool = True,
    whose: Whose = Whose(),
    title: str | None = None,
    date: str | None = None,
) -> ImportReport:
    """Import one file of any kind Carry reads. Raises ImportRefused (one sentence) and stores nothing when the
    file cannot be read, or when it names no patient and the record holds several persons and `whose` names none.
    `online=False` keeps importers off the network (health card keys come from the cache). `title` and `date` are
    the patient's word on a PDF or a photo (other kinds of file ignore them)."""
    target = Path(path)
    if target.is_dir():
        return record.import_file(target, source=source)
    check_regular_file(target)  # a pipe, a device or a socket is refused before anything reads from it
    importer = recognise(target)
    if importer is None:
        return _import_fhir(record, target, source=source, whose=whose)
    before = record._bytes_in_use()
    report = import_with(record, importer, target, source=source, online=online, whose=whose, title=title, date=date)
    checked = check_pending(record)
    report.counts.invalid += checked.invalid_total
    report.counts.invalid_items.extend(checked.invalid_items)
    record._rewrite_if_grown(before)  # a big file (an Apple Health export) leaves the record rewritten, as FHIR does
    return report


def document_proposal(path: str | os.PathLike[str], name: str | None = None) -> Proposal | None:
    """For a PDF or a photo, the title and date Carry proposes (the patient confirms them before it is imported);
    None for any other file. A PDF or photo Carry would refuse is refused here (ImportRefused), before anything."""
    target = Path(path)
    check_regular_file(target)
    if not isinstance(recognise(target), DocumentFileImporter):
        return None
    try:
        return proposed(target, name)
    except ImportFailed as exc:
        raise ImportRefused(f"{name or target.name}: not imported: {_sentence(exc)}", action=exc.action) from None


def import_with(
    record: Record,
    importer: Importer,
    path: Path,
    *,
    source: str = FILE_SOURCE,
    online: bool = True,
    whose: Whose = Whose(),
    title: str | None = None,
    date: str | None = None,
) -> FileImportReport:
    """Store what `importer` makes of `path`, all or nothing, not validated yet."""
    origin = path.name
    settings = _Settings(record)
    context = ImportContext(cache=settings, online=online, title=title, date=date)
    # Who is meant is settled before anything is stored: a person the record does not hold is refused at once.
    everyone = people(record)
    try:
        chosen = None if whose.new or whose.person is None else choose_person(record, whose.person, everyone)
    except PersonError as exc:
        raise ImportRefused(f"{origin}: not imported: {_sentence(exc)}", action=exc.action) from None
    counts = UpsertCounts()
    try:
        # Called before the transaction: an importer that must go online (for a card issuer's keys) does it here,
        # not while holding the record; a streaming importer only starts reading when iterated. A file refused
        # here leaves no trace, not even its source.
        stream = importer.resources(path, context)
        # What the process held before (the app, its modules and models) is set aside from the garbage collector
        # while the file streams in: its full passes would walk all of it again and again as the import's own
        # objects come and go, a tenth of an Apple Health import's time (1.56 -> 1.45 s CPU at 200k samples).
        with heap_set_aside(), record._transaction() as cur, _small_page_cache(cur):
            # The source too is added in the import's transaction: a file refused while it streams leaves none.
            src_id = record._source_in(cur, source, "file", None)
            src = Source(*cur.execute(
                "SELECT id, kind, name, base_url, created_at FROM source WHERE id = ?", (src_id,)).fetchone())  # fmt: skip
            now = record._stamp()
            cur.execute(
                "INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, 'import', ?, ?)", (src.id, origin, now)
            )
            run_id = cur.lastrowid
            owner = _Owner(record, src, whose, chosen, everyone, lambda patient: record._upsert(
                cur, src.id, run_id, [patient], now, UpsertCounts()))  # fmt: skip
            with _closed_after(stream):  # a refusal or an error while storing ends the importer's reading too
                for batch in _batches(stream):
                    record._upsert(cur, src.id, run_id, [owner.given(cur.raw, r) for r in batch], now, counts)
            for key, value in settings.pending.items():
                cur.execute(
                    "INSERT INTO setting (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            record._finish_run(cur, run_id, counts)
            record._audit_in(cur, "import", file=origin, source=source, kind=importer.kind, **_summary(counts))
    except (ImportFailed, PersonError) as exc:
        raise ImportRefused(f"{origin}: not imported: {_sentence(exc)}", action=exc.action) from None
    return FileImportReport(origin, source, counts, tuple(context.notes) + owner.notes())


def _import_fhir(record: Record, path: Path, *, source: str, whose: Whose) -> ImportReport:
    """A FHIR file, read once as a stream and stored the record's way (validated as it goes). Resources about a
    patient that name none (Observations without a subject) are given the chosen person's Patient on the way in;
    a file that carries a Patient of its own when the patient named nobody keeps them as they are (which of its
    resources are that Patient's is not Carry's to guess)."""
    origin = display_name(path)
    everyone = people(record)
    try:
        chosen = None if whose.new or whose.person is None else choose_person(record, whose.person, everyone)
    except PersonError as exc:
        raise ImportRefused(f"{origin}: not imported: {_sentence(exc)}", action=exc.action) from None
    owners: list[_Owner] = []

    def prepare(cur: Any, run_id: int, resources: Iterator[ParsedResource]) -> Iterator[ParsedResource]:
        src = record.source(source, kind="file")  # added by the import's own transaction, which this runs in
        now = record._stamp()
        owner = _Owner(record, src, whose, chosen, everyone, lambda patient: record._upsert(
            cur, src.id, run_id, [patient], now, UpsertCounts()), own_patient_wins=whose == Whose())  # fmt: skip
        owners.append(owner)
        return (owner.given(cur.raw, r) for r in resources)

    def unless_no_patient(refusal: PersonError | None) -> Callable[..., Iterator[ParsedResource]]:
        def keep(cur: Any, run_id: int, resources: Iterator[ParsedResource]) -> Iterator[ParsedResource]:
            seen = False
            for resource in resources:
                seen = seen or resource.resource_type == "Patient"
                yield resource
            if not seen and refusal is not None:
                raise refusal  # no Patient of its own after all: who is meant must be said

        return keep

    try:
        try:
            with open_import_file(path) as stream:
                report = record.import_stream(stream, origin=origin, source=source, prepare=prepare)
        except (_PatientCameLate, PersonError) as exc:
            if isinstance(exc, PersonError) and whose != Whose():
                raise
            # Read as a stream, the file named nobody until its own Patient came (after items already given one,
            # or after the question whose they are): that import was undone whole; read it again and leave what
            # names nobody as it is. Only then is a file read twice.
            owners.clear()
            with open_import_file(path) as stream:
                report = record.import_stream(stream, origin=origin, source=source, prepare=unless_no_patient(
                    exc if isinstance(exc, PersonError) else None))  # fmt: skip
    except (PersonError, ImportFailed) as exc:
        raise ImportRefused(f"{origin}: not imported: {_sentence(exc)}", action=exc.action) from None
    notes = owners[0].notes() if owners else ()
    return FileImportReport(report.origin, report.source, report.counts, notes) if notes else report


def _names_nobody(resource: ParsedResource) -> bool:
    element = _SUBJECT_ELEMENT.get(resource.resource_type)
    named = resource.data.get(element) if element is not None else None
    return element is not None and not (isinstance(named, dict) and isinstance(named.get("reference"), str))


class _PatientCameLate(Exception):
    """A FHIR file's own Patient came after items that name no patient had been given the chosen person's."""


class _Owner:
    """Gives the resources of a file that name no patient the chosen person's Patient in the import's source,
    decided at the first such resource (a file that names its own patient never asks)."""

    def __init__(self, record: Record, source: Source, whose: Whose, chosen: Person | None,
                 everyone: list[Person], store: Callable[[ParsedResource], None], *,
                 own_patient_wins: bool = False) -> None:  # fmt: skip
        self.record, self.source, self.whose, self.chosen, self.everyone = record, source, whose, chosen, everyone
        self.store = store
        self.reference: str | None = None
        self.person: Person | None = None
        self.given_count = 0
        # A FHIR file that carries a Patient keeps what names nobody as it is, unless the patient said whose it is.
        self.own_patient_wins = own_patient_wins
        self.patient_seen = False

    def given(self, raw: Any, resource: ParsedResource) -> ParsedResource:
        if resource.resource_type == "Patient" and self.own_patient_wins:
            if self.given_count:
                raise _PatientCameLate
            self.patient_seen = True
        if not _names_nobody(resource) or (self.own_patient_wins and self.patient_seen):
            return resource if resource.raw else parsed(resource.data)  # an importer's draft is serialised here
        if self.reference is None:
            self.reference = self._decide(raw)
        self.given_count += 1
        return parsed({**resource.data, _SUBJECT_ELEMENT[resource.resource_type]: {"reference": self.reference}})

    def _decide(self, raw: Any) -> str:
        person = self.chosen
        if person is None and not self.whose.new and self.everyone:
            person = choose_person(self.record, None, self.everyone)  # one person: theirs; several: who is meant?
        reference, patient = stand_in(raw, self.source, person, self.whose.name)
        if patient is not None:
            self.store(parsed(patient))
        self.person = person
        return reference

    def notes(self) -> tuple[str, ...]:
        if not self.given_count:
            return ()
        who = self.person.name if self.person is not None else (self.whose.name or "a new person")
        if self.given_count == 1:
            return (f"1 item that names no patient was put in the record of {who}.",)
        return (f"{self.given_count:,} items that name no patient were put in the record of {who}.",)


class _Settings:
    """The record's settings as an importer sees them during its import: what it keeps (an issuer's keys) is
    written in the import's own transaction, so it is kept exactly when the file's resources are."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.pending: dict[str, str] = {}

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self.pending[key] if key in self.pending else self.record.get_setting(key, default)

    def set_setting(self, key: str, value: str) -> None:
        self.pending[key] = value


@contextmanager
def _small_page_cache(cur: Any) -> Iterator[None]:
    """The import's connection with a page cache of _IMPORT_CACHE_KIB while the file streams in, the record's own
    afterwards, so memory stays flat: the record's own cache (64 MiB) would fill up as the record grows.

    What the cache is for during an import: rows go in at the end of the table, but each one also goes into the
    indexes that begin with (source, type, id) at a random place (ids are content hashes). Once those outgrow the
    cache, every insert reads a page back and decrypts it, and writes one out. Measured at 2 million Apple Health
    samples (54,000 Observations) before version 19, when resource_facts, the widest index, was keyed (type,
    source_id, id) too: with 8 MiB, storing slowed from about 90 to 150-200 us an Observation as the record grew,
    640 MB read through SQLCipher; 16 MiB: 400 MB, a quarter less CPU; 32 MiB: flat at about 50 us, but a peak
    1.23x the 200k-sample one. Keyed (type, source_id, rowid, ...) since version 19, it is written at its end like
    the table, and only the narrow unique index (source_id, type, id) is still written at random places: 8 MiB
    costs no more CPU than 16 at 2 million samples (17.2 s both, against 9.6 s to parse the XML) and keeps the
    peak flat (130.5 MiB against 123.2 at 200k samples: 1.06x; 16 MiB: 139.0, 1.13x)."""
    before = int(cur.execute("PRAGMA cache_size").fetchone()[0])
    cur.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        cur.execute(f"PRAGMA cache_size = {before}")


@contextmanager
def _closed_after(stream: Iterator[ParsedResource]) -> Iterator[None]:
    """An importer's stream closed when its import ends, however it ends: what the importer holds open while it
    streams (a file, a second process reading it) is let go then, not whenever the stream is collected."""
    try:
        yield
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _batches(resources: Iterable[ParsedResource]) -> Iterator[list[ParsedResource]]:
    it = iter(resources)
    while batch := list(islice(it, _BATCH)):
        yield batch


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text
