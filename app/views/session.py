"""One UI session's hold on the record.

Each browser tab (or desktop window) unlocks its own Record with the passphrase typed there; the server never
keeps a passphrase. Locking closes the record (the key leaves memory); an idle timer locks it on its own.
All methods block on SQLite: the UI calls them from a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.record import PassphraseRefused, Record, RecordError, WrongPassphrase

from .passphrase import new_passphrase_problem

__all__ = ["AUTOLOCK_SETTING", "DEFAULT_AUTOLOCK_MINUTES", "RecordSession"]

AUTOLOCK_SETTING = "ui.autolock_minutes"
DEFAULT_AUTOLOCK_MINUTES = 10
_ALLOWED_AUTOLOCK = (1, 2, 5, 10, 15, 30, 60)


class RecordSession:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.record: Record | None = None
        self.autolock_minutes = DEFAULT_AUTOLOCK_MINUTES
        self._clock = clock
        self._last_activity = clock()

    def __repr__(self) -> str:
        return f"<RecordSession {str(self.path)!r} {'unlocked' if self.unlocked else 'locked'}>"

    @property
    def unlocked(self) -> bool:
        return self.record is not None and self.record.is_open

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, passphrase: str, repeat: str) -> Record:
        problem = new_passphrase_problem(passphrase, repeat)
        if problem:
            raise PassphraseRefused(problem)
        self.record = Record.create(self.path, passphrase)
        self._after_unlock()
        return self.record

    def unlock(self, passphrase: str, progress: Callable[[float], None] | None = None) -> Record:
        """Open the record; `progress(share)` hears how far an update for this version of Carry is, when the record
        needs one (Record.open)."""
        if not passphrase:
            raise PassphraseRefused("Type your passphrase to unlock your record.")
        try:
            self.record = Record.open(self.path, passphrase, progress=progress)
        except WrongPassphrase:
            raise WrongPassphrase("That passphrase does not open this record. Check it and try again.") from None
        self._after_unlock()
        return self.record

    def change_passphrase(self, current: str, new: str, repeat: str) -> None:
        """Re-key the record under `new` (typed twice) once `current` is shown to open it; then reopen it with the
        new one. A wrong current passphrase or a new one Carry refuses changes nothing."""
        record = self.require()
        problem = new_passphrase_problem(new, repeat)
        if problem:
            raise PassphraseRefused(problem + " Nothing was changed.")
        if not current or not record.passphrase_opens(current):
            raise WrongPassphrase("Your current passphrase is not right; nothing was changed.")
        record.change_passphrase(new)
        record.close()
        self.record = Record.open(self.path, new)
        self._after_unlock()

    def _after_unlock(self) -> None:
        assert self.record is not None
        stored = self.record.get_setting(AUTOLOCK_SETTING)
        try:
            self.autolock_minutes = int(stored) if stored else DEFAULT_AUTOLOCK_MINUTES
        except ValueError:
            self.autolock_minutes = DEFAULT_AUTOLOCK_MINUTES
        self.touch()

    def lock(self) -> None:
        record, self.record = self.record, None
        if record is not None:
            record.close()

    def require(self) -> Record:
        if self.record is None or not self.record.is_open:
            raise RecordError("The record is locked. Unlock it with your passphrase.")
        return self.record

    # --- idle lock ------------------------------------------------------------------------------------------

    def touch(self) -> None:
        self._last_activity = self._clock()

    def idle_seconds(self) -> float:
        return self._clock() - self._last_activity

    def idle_expired(self) -> bool:
        return self.unlocked and self.idle_seconds() >= self.autolock_minutes * 60

    def set_autolock(self, minutes: int) -> None:
        if minutes not in _ALLOWED_AUTOLOCK:
            raise PassphraseRefused(f"Choose one of {', '.join(map(str, _ALLOWED_AUTOLOCK))} minutes.")
        self.require().set_setting(AUTOLOCK_SETTING, str(minutes))
        self.autolock_minutes = minutes

    @staticmethod
    def autolock_choices() -> tuple[int, ...]:
        return _ALLOWED_AUTOLOCK
