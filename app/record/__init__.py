"""The encrypted record: SQLCipher store, schema and migrations, queries, audit log."""

from __future__ import annotations

from .errors import (
    ImportRefused,
    NotARecord,
    PassphraseRefused,
    RecordBusy,
    RecordError,
    RecordExists,
    RecordNotFound,
    WrongPassphrase,
)
from .extract import human_name
from .facts import (
    Decision,
    Fact,
    FactMember,
    FactNotFound,
    PossibleMatch,
    confirm,
    decisions,
    fact_for,
    facts,
    find_fact,
    reset,
    split,
)
from .medications import AllergyFlag, MedicationConflict, MedicationEntry, MedicationList, reconcile_medications
from .schema import latest_version
from .store import (
    FILE_SOURCE,
    MIN_PASSPHRASE,
    ImportReport,
    Record,
    RecordInfo,
    ResourceRow,
    Source,
    StoredResource,
    UpsertCounts,
)

__all__ = [
    "AllergyFlag",
    "Decision",
    "FILE_SOURCE",
    "Fact",
    "FactMember",
    "FactNotFound",
    "MedicationConflict",
    "MedicationEntry",
    "MedicationList",
    "PossibleMatch",
    "confirm",
    "decisions",
    "fact_for",
    "facts",
    "find_fact",
    "reconcile_medications",
    "reset",
    "split",
    "MIN_PASSPHRASE",
    "ImportRefused",
    "ImportReport",
    "NotARecord",
    "PassphraseRefused",
    "Record",
    "RecordBusy",
    "RecordError",
    "RecordExists",
    "RecordInfo",
    "RecordNotFound",
    "ResourceRow",
    "Source",
    "StoredResource",
    "UpsertCounts",
    "WrongPassphrase",
    "human_name",
    "latest_version",
]
