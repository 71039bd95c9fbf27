"""Errors of the encrypted record. Each message is one plain sentence a patient can act on."""

from __future__ import annotations

from sync.errors import CarryError

__all__ = [
    "ImportRefused",
    "NotARecord",
    "PassphraseRefused",
    "RecordBusy",
    "RecordError",
    "RecordExists",
    "RecordNotFound",
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


class ImportRefused(RecordError):
    """A file was not imported; the record is as it was before."""
