"""Portal connections inside the encrypted record: tokens, client secrets and keys, sync checkpoints, sync reports
and source status (schema version 3). This implements the persistence Protocols that sync states:
sync.smart.TokenStore and sync.pull.PullStore.

Secrets (access and refresh tokens, id_tokens, client secrets, private keys) exist only in these tables, which
live inside the SQLCipher file like everything else; nothing here puts them in a repr, log or message.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sync.errors import Action
from sync.pull import Checkpoint, PageWrite, PullSession, SyncReport
from sync.smart import TokenSet

from .errors import RecordError
from .people import place_patients
from .store import Record, Source, UpsertCounts, audit_in, forget_priors

__all__ = ["Connection", "PortalState", "PortalPullStore", "PortalTokenStore", "delete_source_rows", "remove_source"]

_OUTCOMES = ("imported", "updated", "unchanged", "invalid")
# The record's size when a portal's sync began (its first start, when it was interrupted and resumed): a sync that
# grew the record much is followed by a rewrite of the file, as a big import is (Record._rewrite_if_grown).
_SIZE_BEFORE_SETTING = "sync.size_before."


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Connection:
    """A connected portal (a source of kind 'portal'), as `carry sources` and the UI show it."""

    source: Source
    base_url: str
    patient_id: str
    vendor: str
    client_id: str
    auth_method: str
    status: str  # "connected", "needs-reconnect", "disconnected"
    status_reason: str | None  # why it needs reconnecting; for a connected source, why it was not reached last time
    granted_scope: str
    smart_config: str = field(repr=False)
    fhir_user: str | None
    connected_at: str
    last_sync: str | None
    last_outcome: str | None
    server_time: str | None
    resources: int = 0
    sync_pending: bool = False  # an interrupted sync waits to be resumed

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def reached(self) -> bool:
        """Connected, and its server answered the last time Carry tried (a source must not claim "Connected"
        over a server it cannot reach)."""
        return self.status == "connected" and not self.status_reason

    @property
    def id(self) -> int:
        return self.source.id

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "base_url": self.base_url,
            "patient_id": self.patient_id,
            "vendor": self.vendor,
            "client_id": self.client_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "granted_scope": self.granted_scope,
            "connected_at": self.connected_at,
            "last_sync": self.last_sync,
            "last_outcome": self.last_outcome,
            "resources": self.resources,
            "sync_pending": self.sync_pending,
        }


_CONNECTION_SQL = (
    "SELECT s.id, s.kind, s.name, s.base_url, s.created_at, p.base_url, p.patient_id, p.vendor, p.client_id, "
    "p.auth_method, p.status, p.status_reason, p.granted_scope, p.smart_config, p.fhir_user, p.connected_at, "
    "p.last_sync, p.last_outcome, p.server_time, "
    "(SELECT count(*) FROM resource r WHERE r.source_id = s.id), "
    "EXISTS (SELECT 1 FROM sync_session x WHERE x.source_id = s.id) "
    "FROM portal p JOIN source s ON s.id = p.source_id"
)


def _connection(row: Sequence[Any]) -> Connection:
    source = Source(*row[:5])
    fields = (*row[5:19], int(row[19]), bool(row[20]))
    return Connection(source, *fields)


def delete_source_rows(cur: Any, source_id: int) -> None:
    """Delete a source and every resource from it (its runs, reports and portal rows go with it, by cascade)."""
    # The full-text index is contentless: its rows go by rowid before the resources do.
    cur.execute("DELETE FROM resource_fts WHERE rowid IN (SELECT rowid FROM resource WHERE source_id = ?)", (source_id,))
    cur.execute("DELETE FROM resource WHERE source_id = ?", (source_id,))
    cur.execute("DELETE FROM source WHERE id = ?", (source_id,))
    cur.execute("DELETE FROM setting WHERE key = ?", (f"{_SIZE_BEFORE_SETTING}{source_id}",))  # a sync's start size


def remove_source(record: Record, source_id: int) -> str:
    """Remove a source that is not a connected portal (imported files, a kept shared summary) with everything it
    brought; the source's name. A portal is disconnected first (Portals.disconnect revokes its access there)."""
    rows = record._query("SELECT s.name, p.status FROM source s LEFT JOIN portal p ON p.source_id = s.id "
                         "WHERE s.id = ?", [source_id])  # fmt: skip
    if not rows:
        raise RecordError("That source is no longer in your record.")
    name, status = rows[0]
    if status is not None and status != "disconnected":
        raise RecordError(f"{name} is still connected; disconnect it first, so Carry can revoke its access there.")
    with record._transaction() as cur:
        delete_source_rows(cur, source_id)
        cur.execute(
            "INSERT INTO audit (at, action, detail) VALUES (?, 'remove-source', ?)",
            (_now(), json.dumps({"source": source_id}, sort_keys=True)),
        )
    return str(name)


class PortalState:
    """Portal connections of one open record."""

    def __init__(self, record: Record) -> None:
        self.record = record

    # --- connections ---------------------------------------------------------------------------------------

    def connections(self) -> list[Connection]:
        return [_connection(r) for r in self.record.read(_CONNECTION_SQL + " ORDER BY s.id")]

    def connection(self, which: str | int) -> Connection:
        """A connection by source id, source name, or FHIR base URL (when only one patient is connected there)."""
        rows = self.record.read(
            _CONNECTION_SQL + " WHERE s.id = ? OR s.name = ? OR p.base_url = ? ORDER BY s.id",
            [which if isinstance(which, int) or str(which).isdigit() else -1, str(which), str(which).rstrip("/")],
        )
        if not rows:
            raise RecordError(f"There is no connected portal called {which!r}.", action=Action.SEE_SOURCES)
        if len(rows) > 1:
            raise RecordError(f"{which!r} matches more than one connected portal; use its name or number instead.")
        return _connection(rows[0])

    def find(self, base_url: str, patient_id: str) -> Connection | None:
        rows = self.record.read(_CONNECTION_SQL + " WHERE p.base_url = ? AND p.patient_id = ?", [base_url, patient_id])
        return _connection(rows[0]) if rows else None

    def _free_name(self, wanted: str) -> str:
        taken = {name for (name,) in self.record.read("SELECT name FROM source WHERE kind = 'portal'")}
        name, n = wanted, 1
        while name in taken:
            n += 1
            name = f"{wanted} ({n})"
        return name

    def save_connection(
        self,
        *,
        name: str,
        base_url: str,
        patient_id: str,
        vendor: str,
        client_id: str,
        auth_method: str,
        granted_scope: str,
        smart_config: str,
        fhir_user: str | None,
        tokens: TokenSet,
    ) -> Connection:
        """Create the connection (or renew it: same FHIR base and patient) and store its tokens, in one transaction."""
        existing = self.find(base_url, patient_id)
        now = _now()
        with self.record.write() as cur:
            if existing is None:
                cur.execute(
                    "INSERT INTO source (kind, name, base_url, created_at) VALUES ('portal', ?, ?, ?)",
                    (self._free_name(name), base_url, now),
                )
                source_id = cur.lastrowid
                cur.execute(
                    "INSERT INTO portal (source_id, base_url, patient_id, vendor, client_id, auth_method, status, "
                    "granted_scope, smart_config, fhir_user, connected_at) VALUES (?, ?, ?, ?, ?, ?, 'connected', ?, ?, ?, ?)",
                    (source_id, base_url, patient_id, vendor, client_id, auth_method, granted_scope, smart_config, fhir_user, now),
                )
            else:
                source_id = existing.id
                cur.execute(
                    "UPDATE portal SET vendor = ?, client_id = ?, auth_method = ?, status = 'connected', status_reason = NULL, "
                    "granted_scope = ?, smart_config = ?, fhir_user = ?, connected_at = ? WHERE source_id = ?",
                    (vendor, client_id, auth_method, granted_scope, smart_config, fhir_user, now, source_id),
                )
            _write_tokens(cur, source_id, tokens)
            place_patients(cur.raw)  # the portal's own patient is someone from the moment of connecting
            audit_in(cur, "connect", source=source_id, base_url=base_url, scope=granted_scope)
        return self.connection(source_id)

    def note_unreachable(self, source_id: int, reason: str) -> None:
        """The server of a connected source did not answer: kept until it answers again (note_reached)."""
        with self.record.write() as cur:
            cur.execute(
                "UPDATE portal SET status_reason = ? WHERE source_id = ? AND status = 'connected'", (reason, source_id)
            )

    def note_reached(self, source_id: int) -> None:
        with self.record.write() as cur:
            cur.execute(
                "UPDATE portal SET status_reason = NULL WHERE source_id = ? AND status = 'connected'", (source_id,)
            )

    def set_status(self, source_id: int, status: str, reason: str | None = None) -> None:
        with self.record.write() as cur:
            cur.execute("UPDATE portal SET status = ?, status_reason = ? WHERE source_id = ?", (status, reason, source_id))

    # --- tokens --------------------------------------------------------------------------------------------

    def tokens(self, source_id: int) -> TokenSet | None:
        rows = self.record.read(
            "SELECT access_token, token_type, expires_at, scope, patient, refresh_token, id_token, updated_at "
            "FROM portal_token WHERE source_id = ?",
            [source_id],
        )
        if not rows:
            return None
        # Tokens are saved as they arrive: when they were saved is when they were issued (for their lifetime).
        access, kind, expires_at, scope, patient, refresh_token, id_token, saved = rows[0]
        return TokenSet(access, kind, expires_at, scope, patient, refresh_token, id_token, _epoch(saved))

    def token_store(self, source_id: int) -> PortalTokenStore:
        return PortalTokenStore(self.record, source_id)

    def disconnect(self, source_id: int, *, forget: bool) -> None:
        """Delete the tokens (and with `forget`, the source and every resource that came from it)."""
        with self.record.write() as cur:
            cur.execute("DELETE FROM portal_token WHERE source_id = ?", (source_id,))
            cur.execute("DELETE FROM sync_checkpoint WHERE source_id = ?", (source_id,))
            cur.execute("DELETE FROM sync_session WHERE source_id = ?", (source_id,))
            cur.execute("DELETE FROM portal_refusal WHERE source_id = ?", (source_id,))
            if forget:
                delete_source_rows(cur, source_id)
            else:
                cur.execute(
                    "UPDATE portal SET status = 'disconnected', status_reason = 'Disconnected by you.' WHERE source_id = ?",
                    (source_id,),
                )
            audit_in(cur, "disconnect", source=source_id, forget=forget)

    # --- client secrets and keys ----------------------------------------------------------------------------

    def client_secret(self, token_endpoint: str, client_id: str) -> tuple[str, str, str | None] | None:
        """(auth method, secret or private JWK as JSON, alg) kept for this client at this token endpoint."""
        rows = self.record.read(
            "SELECT auth_method, secret, alg FROM client_secret WHERE token_endpoint = ? AND client_id = ?",
            [token_endpoint, client_id],
        )
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def forget_client_secret(self, token_endpoint: str, client_id: str) -> None:
        """Delete a client's secret or key (a device client's key once its source is disconnected or renewed)."""
        with self.record.write() as cur:
            cur.execute("DELETE FROM client_secret WHERE token_endpoint = ? AND client_id = ?", (token_endpoint, client_id))

    def save_client_secret(self, token_endpoint: str, client_id: str, auth_method: str, secret: str, alg: str | None) -> None:
        with self.record.write() as cur:
            cur.execute(
                "INSERT INTO client_secret (token_endpoint, client_id, auth_method, alg, secret, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_endpoint, client_id) DO UPDATE SET "
                "auth_method = excluded.auth_method, alg = excluded.alg, secret = excluded.secret",
                (token_endpoint, client_id, auth_method, alg, secret, _now()),
            )

    # --- sync --------------------------------------------------------------------------------------------

    def pull_store(self, source_id: int) -> PortalPullStore:
        return PortalPullStore(self.record, source_id)

    def rewrite_after_syncs(self, source_ids: Collection[int]) -> None:
        """After the syncs of these portals (and the validation of what they stored: all their writes), the record
        file is rewritten when they grew it much since they began (a resumed sync: since its first start), as after a
        big import (Record._rewrite_if_grown: on a thread of its own; `Record.rewriting` tells how far it is). A sync
        left unfinished keeps its start's size for when it resumes."""
        keys = [f"{_SIZE_BEFORE_SETTING}{sid}" for sid in source_ids]
        if not keys or self.record.read_only:  # (a read-only record syncs nothing)
            return
        sizes: list[int] = []
        with self.record.write(counted=False) as cur:
            for key, sid in zip(keys, source_ids, strict=True):
                if cur.execute("SELECT 1 FROM sync_session WHERE source_id = ?", (sid,)).fetchone() is not None:
                    continue  # not finished: resumed later, from its first start's size
                row = cur.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    sizes.append(int(row[0]))
                    cur.execute("DELETE FROM setting WHERE key = ?", (key,))
        if sizes:
            self.record._rewrite_if_grown(min(sizes))

    def reports(self, source_id: int, limit: int = 10) -> list[SyncReport]:
        rows = self.record.read(
            "SELECT report FROM sync_report WHERE source_id = ? ORDER BY run_id DESC LIMIT ?", [source_id, limit]
        )
        return [SyncReport.from_json(json.loads(text)) for (text,) in rows]


def _write_tokens(cur: Any, source_id: int, tokens: TokenSet) -> None:
    cur.execute(
        "INSERT INTO portal_token (source_id, access_token, token_type, expires_at, scope, patient, refresh_token, "
        "id_token, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
        "access_token = excluded.access_token, token_type = excluded.token_type, expires_at = excluded.expires_at, "
        "scope = excluded.scope, patient = excluded.patient, refresh_token = excluded.refresh_token, "
        "id_token = excluded.id_token, updated_at = excluded.updated_at",
        (
            source_id, tokens.access_token, tokens.token_type, tokens.expires_at, tokens.scope, tokens.patient,
            tokens.refresh_token, tokens.id_token, _now(),
        ),  # fmt: skip
    )


class PortalTokenStore:
    """sync.smart.TokenStore for one source."""

    def __init__(self, record: Record, source_id: int) -> None:
        self.record = record
        self.source_id = source_id

    def __repr__(self) -> str:
        return f"<PortalTokenStore source={self.source_id}>"

    def save_tokens(self, tokens: TokenSet) -> None:
        with self.record.write() as cur:
            _write_tokens(cur, self.source_id, tokens)

    def mark_needs_reconnect(self, reason: str) -> None:
        with self.record.write() as cur:
            cur.execute(
                "UPDATE portal SET status = 'needs-reconnect', status_reason = ? WHERE source_id = ?",
                (reason, self.source_id),
            )
            audit_in(cur, "needs-reconnect", source=self.source_id)


class PortalPullStore:
    """sync.pull.PullStore for one source: each page and its checkpoint are written in one transaction."""

    def __init__(self, record: Record, source_id: int) -> None:
        self.record = record
        self.source_id = source_id

    def _not_shared(self, cur: Any, full: bool) -> dict[str, tuple[str, str]]:
        """Refusals younger than a week (none for a full sync: it asks again)."""
        if full:
            return {}
        rows = cur.execute(
            "SELECT task, resource_type, since FROM portal_refusal WHERE source_id = ? "
            "AND since > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')",
            (self.source_id,),
        ).fetchall()
        return {task: (rtype, since[:10]) for task, rtype, since in rows}

    def mark_removed(self, run_id: int, types: Collection[str]) -> dict[str, int]:
        if not types:
            return {}
        marks = ", ".join("?" for _ in types)
        with self.record.write() as cur:
            counts = dict(cur.execute(
                f"SELECT type, count(*) FROM resource WHERE source_id = ? AND type IN ({marks}) AND removed_at IS NULL "
                "AND (last_run IS NULL OR last_run != ?) GROUP BY type",
                (self.source_id, *types, run_id),
            ).fetchall())  # fmt: skip
            if counts:
                cur.execute(
                    f"UPDATE resource SET removed_at = ? WHERE source_id = ? AND type IN ({marks}) AND removed_at IS NULL "
                    "AND (last_run IS NULL OR last_run != ?)",
                    (_now(), self.source_id, *types, run_id),
                )
                audit_in(cur, "removed-at-source", source=self.source_id, removed=counts)
        return {str(t): int(n) for t, n in counts.items()}

    def remember_refusals(self, refused: Mapping[str, tuple[str, str]], searched: Collection[str]) -> None:
        if not refused and not searched:
            return
        now = _now()
        with self.record.write() as cur:
            if searched:
                cur.execute_rows(
                    "DELETE FROM portal_refusal WHERE source_id = ? AND task IN ({rows})", list(searched), (self.source_id,)
                )
            if refused:
                cur.execute_rows(
                    "INSERT INTO portal_refusal (source_id, task, resource_type, reason, since) VALUES {rows} "
                    "ON CONFLICT (source_id, task) DO UPDATE SET reason = excluded.reason, since = excluded.since",
                    [(self.source_id, task, rtype, reason, now) for task, (rtype, reason) in refused.items()],
                )

    def open_session(self, *, full: bool) -> PullSession:
        sid = self.source_id
        with self.record.write() as cur:
            row = cur.execute("SELECT run_id, full, since FROM sync_session WHERE source_id = ?", (sid,)).fetchone()
            if row is not None and (not full or row[1]):
                run_id, was_full, since = row
                checkpoints = {
                    task: Checkpoint(task, next_url, pages, bool(done), refused, json.loads(counts))
                    for task, next_url, pages, done, refused, counts in cur.execute(
                        "SELECT task, next_url, pages, done, refused, counts FROM sync_checkpoint WHERE source_id = ?",
                        (sid,),
                    ).fetchall()
                }
                return PullSession(int(run_id), True, bool(was_full), since, checkpoints, self._not_shared(cur, bool(was_full)))
            if row is not None:  # an interrupted incremental sync, superseded by --full
                cur.execute("UPDATE run SET finished_at = ? WHERE id = ? AND finished_at IS NULL", (_now(), row[0]))
                forget_priors(cur, row[0])
            server_time = cur.execute("SELECT server_time, base_url FROM portal WHERE source_id = ?", (sid,)).fetchone()
            if server_time is None:
                raise RecordError("This portal is not connected.")
            since = None if full else server_time[0]
            now = _now()
            cur.execute(
                "INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, 'sync', ?, ?)", (sid, server_time[1], now)
            )
            run_id = cur.lastrowid
            cur.execute("DELETE FROM sync_checkpoint WHERE source_id = ?", (sid,))
            # Kept from an earlier start that never finished (superseded by --full): its growth counts too.
            cur.execute(
                "INSERT INTO setting (key, value) VALUES (?, (SELECT page_count * page_size FROM pragma_page_count(), "
                "pragma_page_size())) ON CONFLICT (key) DO NOTHING",
                (f"{_SIZE_BEFORE_SETTING}{sid}",),
            )
            cur.execute(
                "INSERT INTO sync_session (source_id, run_id, full, since, started_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (source_id) DO UPDATE SET run_id = excluded.run_id, full = excluded.full, "
                "since = excluded.since, started_at = excluded.started_at",
                (sid, run_id, 1 if since is None else 0, since, now),
            )
        return PullSession(int(run_id), False, since is None, since, {}, self._not_shared(cur, full))

    def save_pages(self, run_id: int, pages: Sequence[PageWrite]) -> list[dict[str, dict[str, int]]]:
        """Store the pages and their tasks' checkpoints in one transaction, with a handful of statements however
        many pages there are (each statement hands the GIL to the event loop and back)."""
        now = _now()
        tallies = [UpsertCounts() for _ in pages]
        resources = [res for page in pages for res in page.resources]
        owners = [tally for tally, page in zip(tallies, pages, strict=True) for _ in page.resources]
        tasks = list(dict.fromkeys(page.task for page in pages))
        with self.record.write() as cur:
            if resources:
                self.record._upsert(cur, self.source_id, run_id, resources, now, owners)
            # Read back inside the transaction: where each task stood before these pages.
            stored = cur.value_in(
                "SELECT json_group_object(task, json_array(pages, counts)) FROM sync_checkpoint "
                "WHERE source_id = ? AND task IN ({rows})",
                tasks,
                (self.source_id,),
            )
            state = {task: (int(n), json.loads(counts)) for task, (n, counts) in json.loads(stored).items()}
            latest: dict[str, PageWrite] = {}
            for page, tally in zip(pages, tallies, strict=True):
                pages_before, merged = (0, {}) if page.restart else state.get(page.task, (0, {}))
                for rtype, bucket in tally.per_type.items():
                    mine = merged.setdefault(rtype, dict.fromkeys(_OUTCOMES, 0))
                    for key in _OUTCOMES:
                        mine[key] += bucket.get(key, 0)
                state[page.task] = (pages_before + 1, merged)
                latest[page.task] = page
            cur.execute_rows(
                "INSERT INTO sync_checkpoint (source_id, task, next_url, pages, done, refused, counts, updated_at) "
                "VALUES {rows} ON CONFLICT (source_id, task) DO UPDATE SET "
                "next_url = excluded.next_url, pages = excluded.pages, done = excluded.done, "
                "refused = excluded.refused, counts = excluded.counts, updated_at = excluded.updated_at",
                [(self.source_id, task, page.next_url, state[task][0], 1 if page.done else 0, page.refused,
                  json.dumps(state[task][1]), now) for task, page in latest.items()],
            )  # fmt: skip
        return [{rtype: dict(bucket) for rtype, bucket in tally.per_type.items()} for tally in tallies]

    def run_resources(self, run_id: int, types: Collection[str]) -> list[tuple[str, str, bytes]]:
        sql = "SELECT type, id, resource_json(raw, type, id) FROM resource WHERE source_id = ? AND last_run = ?"
        params: list[Any] = [self.source_id, run_id]
        if types:
            sql += f" AND type IN ({', '.join('?' for _ in types)})"
            params += list(types)
        return [(t, i, raw.encode("utf-8")) for t, i, raw in self.record.read(sql, params)]

    def stored_keys(self, types: Collection[str]) -> set[tuple[str, str]]:
        if not types:
            return set()
        return {
            (t, i)
            for t, i in self.record.read(
                f"SELECT type, id FROM resource WHERE source_id = ? AND type IN ({', '.join('?' for _ in types)})",
                [self.source_id, *types],
            )
        }

    def stored_counts(self) -> dict[str, int]:
        return dict(self.record.read("SELECT type, count(*) FROM resource WHERE source_id = ? GROUP BY type", [self.source_id]))

    def resolve_identifier(self, resource_type: str, system: str, value: str) -> str | None:
        return self.record.resolve_identifier(resource_type, system, value)

    def finish_session(self, run_id: int, report: SyncReport, *, complete: bool, server_time: str | None) -> None:
        totals = report.totals
        now = _now()
        with self.record.write() as cur:
            # A resource removed at the source that the portal served again this run is current again.
            cur.execute(
                "UPDATE resource SET removed_at = NULL WHERE source_id = ? AND removed_at IS NOT NULL AND last_run = ?",
                (self.source_id, run_id),
            )
            cur.execute(
                "UPDATE run SET finished_at = ?, imported = ?, updated = ?, unchanged = ?, invalid = ? WHERE id = ?",
                (now, totals.imported, totals.updated, totals.unchanged, totals.invalid, run_id),
            )
            forget_priors(cur, run_id)
            cur.execute(
                "INSERT INTO sync_report (run_id, source_id, outcome, report) VALUES (?, ?, ?, ?) ON CONFLICT (run_id) "
                "DO UPDATE SET outcome = excluded.outcome, report = excluded.report",
                (run_id, self.source_id, report.outcome, json.dumps(report.as_json())),
            )
            cur.execute(
                "UPDATE portal SET last_sync = ?, last_outcome = ? WHERE source_id = ?", (now, report.outcome, self.source_id)
            )
            if complete:
                # Only a finished sync moves the _lastUpdated mark and drops the checkpoints. A resumed sync counts
                # from when it first started (changes made while it was interrupted must not fall in between).
                started = cur.execute(
                    "SELECT started_at FROM sync_session WHERE source_id = ?", (self.source_id,)
                ).fetchone()
                mark = min(t for t in (server_time, started[0] if started else None) if t) if (server_time or started) else None
                if mark:
                    cur.execute("UPDATE portal SET server_time = ? WHERE source_id = ?", (mark, self.source_id))
                cur.execute("DELETE FROM sync_checkpoint WHERE source_id = ?", (self.source_id,))
                cur.execute("DELETE FROM sync_session WHERE source_id = ?", (self.source_id,))
            audit_in(cur, "sync", source=self.source_id, outcome=report.outcome, imported=totals.imported,
                     updated=totals.updated, unchanged=totals.unchanged, invalid=totals.invalid)  # fmt: skip
