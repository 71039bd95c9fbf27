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
    "FILE_SOURCE",
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
