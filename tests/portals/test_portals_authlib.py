"""Carry against a portal it did not write: an authorization server assembled from authlib's server components,
with exact redirect URIs, 30-second tokens, RateLimit throttling, types refused with 403 and resources deleted
between syncs (tests/portals/authlib_portal.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib_portal import REFUSED_TYPES, AuthlibPortal
from support.portal import log_in_async

from app.portals import Connection, Portals
from app.record import Record
from sync.fhir import content_hash

REDIRECT = "http://127.0.0.1:8123/oauth/callback"


@pytest.fixture
def portal() -> Iterator[AuthlibPortal]:
    with AuthlibPortal(REDIRECT, limit=25, window=1.0) as server:
        yield server


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Record]:
    rec = Record.create(tmp_path / "record.carry", "correct horse battery staple")
    yield rec
    rec.close()


async def _connect(portals: Portals, portal: AuthlibPortal) -> Connection:
    pending = await portals.begin_connect(portal.base_url, REDIRECT, client_id=portal.client_id)
    location = await log_in_async(pending.authorize_url, portal.username, portal.password)
    return await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))


def _held(record: Record, source_id: int) -> dict[tuple[str, str], str]:
    return {(t, i): h for t, i, h in record._query("SELECT type, id, hash FROM resource WHERE source_id = ?", [source_id])}


@pytest.mark.asyncio
async def test_carry_connects_and_syncs_exactly_through_short_tokens_and_throttling(
    portal: AuthlibPortal, record: Record
) -> None:
    portals = Portals(record)
    conn = await _connect(portals, portal)
    report = await portals.sync(conn.id)
    assert report.outcome == "complete", report.as_json()
    # Every resource the portal shares, exactly as served.
    assert _held(record, conn.id) == {k: content_hash(v) for k, v in portal.served().items()}
    # The throttling was met and survived.
    assert portal.counts["throttled"] >= 1
    # One refresh per token lifetime at most (30-second tokens), not one per request.
    assert report.refreshes == portal.counts["refresh"] <= math.ceil(report.duration / 27) + 1
    # The refused types: one line each, no raw server text.
    for rtype in REFUSED_TYPES:
        assert len(report.types[rtype].refused) == 1, report.types[rtype]


@pytest.mark.asyncio
async def test_a_long_sync_refreshes_once_per_token_lifetime(record: Record) -> None:
    # Five-second tokens and a portal slow enough (4 requests a second) that one sync outlives several of them.
    with AuthlibPortal(REDIRECT, limit=4, window=1.0, token_lifetime=5) as portal:
        portals = Portals(record)
        conn = await _connect(portals, portal)
        report = await portals.sync(conn.id)
        assert report.outcome == "complete", report.as_json()
        assert _held(record, conn.id) == {k: content_hash(v) for k, v in portal.served().items()}
        lifetimes = report.duration / 4.5  # each token is used until a tenth of its life is left
        assert 1 <= report.refreshes == portal.counts["refresh"] <= math.ceil(lifetimes) + 1, (report.refreshes, report.duration)
