"""Sharing inside the encrypted record (schema version 5): the record's access keypair, the links the patient made,
and who opened them.

A link's URI holds its decryption key, and the private access key opens the host's sealed access entries, so both
exist only in these tables, inside the SQLCipher file. Nothing here puts them in a repr, log or message. Passcodes
are never stored: the patient chose it and gives it to the doctor; Carry does not show it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sync.errors import Action
from sync.untrusted import plain_text

from .errors import RecordError
from .store import Record, audit_in

__all__ = ["AccessEntry", "ShareLinkRow", "ShareState"]

CURSOR_SETTING = "share.access_cursor"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_EVENTS = frozenset({"manifest", "direct", "passcode-refused"})


@dataclass(frozen=True)
class AccessEntry:
    """Who opened a link, as the share host reported it. Everything but the link id came from the internet, so an
    entry neutralises its own fields when made: whatever a host stored (a lone surrogate, escape sequences, a
    flood of lines, a number where text belongs), an entry is plain, valid text that the record, its audit log
    and a terminal take as it is; the merge on unlock cannot fail on it."""

    link_id: str
    recipient: str
    at: str  # ISO 8601, UTC
    event: str  # "manifest", "direct", "passcode-refused"

    def __post_init__(self) -> None:
        event = self.event if self.event in _EVENTS else "manifest"
        for name, value in (("link_id", plain_text(self.link_id, limit=100)),
                            ("recipient", plain_text(self.recipient) or "someone"),
                            ("at", plain_text(self.at, limit=40)), ("event", event)):  # fmt: skip
            object.__setattr__(self, name, value)

    @classmethod
    def opened(cls, link_id: str, data: object) -> AccessEntry:
        """An entry from the opened content of a sealed one, whatever that content holds."""
        fields: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(link_id, fields.get("recipient") or "", fields.get("at") or "", fields.get("event") or "")

    def sentence(self) -> str:
        when = self.at.replace("T", " ").replace("+00:00", " UTC").replace("Z", " UTC")
        if self.event == "passcode-refused":
            return f"wrong passcode from {self.recipient} at {when}"
        return f"opened by {self.recipient} at {when}"

    def as_json(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "at": self.at, "event": self.event, "text": self.sentence()}


@dataclass(frozen=True)
class ShareLinkRow:
    link_id: str
    payload: dict[str, Any] = field(repr=False)  # holds the key
    uri: str = field(repr=False)
    label: str | None
    flag: str
    exp: int | None
    sections: dict[str, int]  # section name -> number of items
    sources: tuple[str, ...]
    created_at: str
    revoked_at: str | None
    accesses: tuple[AccessEntry, ...] = ()
    ips_text: str = field(default="", repr=False)

    @property
    def short_id(self) -> str:
        return self.link_id[:8]

    def ips(self) -> dict[str, Any]:
        from sync.fhir import loads

        value = loads(self.ips_text.encode("utf-8"))
        return value if isinstance(value, dict) else {}

    def status(self, now: float) -> str:
        if self.revoked_at:
            return "revoked"
        if self.exp is not None and now >= self.exp:
            return "expired"
        return "active"


_LINK_COLUMNS = "link_id, payload, uri, label, flag, exp, sections, sources, created_at, revoked_at, ips"


class ShareState:
    """The sharing tables of one open record."""

    def __init__(self, record: Record) -> None:
        self.record = record

    # --- the access keypair ----------------------------------------------------------------------------------

    def access_keys(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(private JWK, public JWK), made the first time a record shares anything."""
        rows = self.record.read("SELECT private_jwk, public_jwk FROM share_key WHERE id = 1")
        if rows:
            return json.loads(rows[0][0]), json.loads(rows[0][1])
        from sync.share import new_access_keypair

        private, public = new_access_keypair()
        with self.record.write() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO share_key (id, private_jwk, public_jwk, created_at) VALUES (1, ?, ?, ?)",
                (json.dumps(private), json.dumps(public), _now()),
            )
        rows = self.record.read("SELECT private_jwk, public_jwk FROM share_key WHERE id = 1")
        return json.loads(rows[0][0]), json.loads(rows[0][1])

    def private_key(self) -> dict[str, Any] | None:
        rows = self.record.read("SELECT private_jwk FROM share_key WHERE id = 1")
        return json.loads(rows[0][0]) if rows else None

    # --- links -----------------------------------------------------------------------------------------------

    def add_link(
        self,
        *,
        link_id: str,
        payload: Mapping[str, Any],
        uri: str,
        label: str | None,
        flag: str,
        exp: int | None,
        sections: Mapping[str, int],
        sources: Iterable[str],
        ips_text: str,
    ) -> None:
        with self.record.write() as cur:
            cur.execute(
                f"INSERT INTO share_link ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (link_id, json.dumps(dict(payload)), uri, label, flag, exp, json.dumps(dict(sections)),
                 json.dumps(list(sources)), _now(), ips_text),
            )  # fmt: skip
            audit_in(cur, "share-create", link=link_id[:8], flag=flag, exp=exp, sections=dict(sections))

    def links(self) -> list[ShareLinkRow]:
        rows = self.record.read(f"SELECT {_LINK_COLUMNS} FROM share_link ORDER BY created_at DESC, rowid DESC")
        accesses = self._accesses()
        return [self._link(r, accesses.get(r[0], ())) for r in rows]

    def link(self, which: str) -> ShareLinkRow:
        """A link by its id or the start of it (8 characters are shown)."""
        which = which.strip()
        if len(which) < 4:
            raise RecordError("Give at least the first 4 characters of the link's id.", action=Action.SEE_SHARES)
        rows = self.record.read(
            f"SELECT {_LINK_COLUMNS} FROM share_link WHERE substr(link_id, 1, ?) = ?", [len(which), which]
        )
        if not rows:
            raise RecordError(f"There is no shared link {which!r}.", action=Action.SEE_SHARES)
        if len(rows) > 1:
            raise RecordError(f"{which!r} matches more than one shared link; give more of its id.")
        return self._link(rows[0], self._accesses().get(rows[0][0], ()))

    def mark_revoked(self, link_id: str) -> None:
        with self.record.write() as cur:
            cur.execute("UPDATE share_link SET revoked_at = ? WHERE link_id = ? AND revoked_at IS NULL",
                        (_now(), link_id))  # fmt: skip
            audit_in(cur, "share-revoke", link=link_id[:8])

    def link_ids(self) -> set[str]:
        return {r[0] for r in self.record.read("SELECT link_id FROM share_link")}

    @staticmethod
    def _link(row: Any, accesses: tuple[AccessEntry, ...]) -> ShareLinkRow:
        link_id, payload, uri, label, flag, exp, sections, sources, created, revoked, ips = row
        return ShareLinkRow(link_id, json.loads(payload), uri, label, flag, exp, json.loads(sections),
                            tuple(json.loads(sources)), created, revoked, accesses, ips)  # fmt: skip

    # --- accesses --------------------------------------------------------------------------------------------

    def _accesses(self) -> dict[str, tuple[AccessEntry, ...]]:
        out: dict[str, list[AccessEntry]] = {}
        for link_id, recipient, at, event in self.record.read(
            "SELECT link_id, recipient, at, event FROM share_access ORDER BY at, id"
        ):
            out.setdefault(link_id, []).append(AccessEntry(link_id, recipient, at, event))
        return {k: tuple(v) for k, v in out.items()}

    @staticmethod
    def _cursor_key(host: str | None) -> str:
        # Each host counts its access entries on its own: this computer's, and a Carry host's (by its address).
        return CURSOR_SETTING if host is None else f"{CURSOR_SETTING}:{host}"

    def cursor(self, host: str | None = None) -> int:
        value = self.record.get_setting(self._cursor_key(host))
        return int(value) if value and value.isdigit() else 0

    def add_accesses(
        self, entries: Iterable[tuple[int, AccessEntry]], cursor: int, host: str | None = None
    ) -> list[AccessEntry]:
        """Merge opened access entries and move the cursor past them, in one transaction (each entry once)."""
        added: list[AccessEntry] = []
        with self.record.write() as cur:
            for host_cursor, entry in entries:
                cur.execute(
                    "INSERT OR IGNORE INTO share_access (link_id, recipient, at, event, host_cursor) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (entry.link_id, entry.recipient, entry.at, entry.event, host_cursor),
                )
                if cur.raw.rowcount:
                    added.append(entry)
                    action = "share-passcode-refused" if entry.event == "passcode-refused" else "share-opened"
                    audit_in(cur, action, link=entry.link_id[:8], recipient=entry.recipient, at=entry.at,
                                     text=entry.sentence())  # fmt: skip
            cur.execute(
                "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (self._cursor_key(host), str(cursor)),
            )
        return added
