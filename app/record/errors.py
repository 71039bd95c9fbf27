"""Errors of the encrypted record. Each message is one plain sentence a patient can act on."""

from __future__ import annotations

from sync.errors import CarryError

__all__ = [
    "EntryRefused",
    "ImportRefused",
    "NotARecord",
    "PassphraseRefused",
    "RecordBusy",
    "RecordError",
    "RecordExists",
    "RecordFull",
    "RecordNotFound",
    "RecordReadOnly",
    "WrongPassphrase",
]


class RecordError(CarryError):
    """Base of every error raised by app.record."""


class RecordNotFound(RecordError):
    pass


class RecordExists(RecordError):
    pass


class NotARecord(RecordError):
    """The file exists but is not an encrypted Carry record (a plain SQLite file, a newer schema, ...)."""


class WrongPassphrase(RecordError):
    pass


class PassphraseRefused(RecordError):
    """A new passphrase that Carry will not accept (too short, or not the same twice)."""


class RecordBusy(RecordError):
    pass


class RecordFull(RecordError):
    """The disk that holds the record has no room left; the change was rolled back."""


class RecordReadOnly(RecordError):
    """The record file (or its disk) cannot be written; reading it still works."""


class ImportRefused(RecordError):
    """A file was not imported; the record is as it was before."""


class EntryRefused(RecordError):
    """One of the patient's own entries cannot be saved as given (a value out of range, a missing word), or the
    entry named is not one of theirs; nothing was changed."""
