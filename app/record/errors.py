"""Errors of the encrypted record. Each message is one plain sentence a patient can act on."""

from __future__ import annotations

from sync.errors import Action, CarryError

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

    code = "record.error"
    default_message = "The record cannot do that; nothing was changed."


class RecordNotFound(RecordError):
    code = "record.not-found"
    default_message = "There is no record here yet."


class RecordExists(RecordError):
    code = "record.exists"
    default_message = "A record already exists here; nothing was changed."


class NotARecord(RecordError):
    """The file exists but is not an encrypted Carry record (a plain SQLite file, a newer schema, ...)."""

    code = "record.not-a-record"
    default_message = "This file is not an encrypted Carry record."


class WrongPassphrase(RecordError):
    code = "record.wrong-passphrase"
    default_message = "That passphrase does not open this record."
    default_action = Action.UNLOCK_AGAIN


class PassphraseRefused(RecordError):
    """A new passphrase that Carry will not accept (too short, or not the same twice)."""

    code = "record.passphrase-refused"
    default_message = "Carry cannot take that passphrase."


class RecordBusy(RecordError):
    code = "record.busy"
    default_message = "The record is busy with another change; try again in a moment."
    default_action = Action.RETRY


class RecordFull(RecordError):
    """The disk that holds the record has no room left; the change was rolled back."""

    code = "record.full"
    default_message = "The disk that holds the record is full; nothing was changed."


class RecordReadOnly(RecordError):
    """The record file (or its disk) cannot be written; reading it still works."""

    code = "record.read-only"
    default_message = "The record cannot be written just now; reading it still works."


class ImportRefused(RecordError):
    """A file was not imported; the record is as it was before."""

    code = "record.import-refused"
    default_message = "The file was not imported; the record is as it was."


class EntryRefused(RecordError):
    """One of the patient's own entries cannot be saved as given (a value out of range, a missing word), or the
    entry named is not one of theirs; nothing was changed."""

    code = "record.entry-refused"
    default_message = "The entry was not saved; nothing was changed."
