"""Carry against a portal it did not write: an authorization server assembled from authlib's server components,
with exact redirect URIs, 30-second tokens, RateLimit throttling, types refused with 403 and resources deleted
between syncs (tests/portals/authlib_portal.py)."""

from __future__ import annotations

import asyncio
import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authlib_portal import REFUSED_TYPES, AuthlibPortal
from support.portal import log_in_async
from support.ports import free_port

from app.portals import Connection, Portals
from app.record import Record, facts
from sync.fhir import content_hash
from sync.smart import CALLBACK_PORT, AuthorizationError

REDIRECT = "http://127.0.0.1:8123/oauth/callback"


@pytest.fixture
def portal() -> Iterator[AuthlibPortal]:
    with AuthlibPortal(REDIRECT, limit=10, window=2.0) as server:
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
    return {(t, i): h for t, i, h in record.read("SELECT type, id, hash FROM resource WHERE source_id = ?", [source_id])}


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
    # The throttling was met and survived: Carry waited out each window the RateLimit header announced as used up
    # (at most the 4 requests in flight at a window's end were refused), so the sync spans several windows.
    windows = portal.counts["fhir"] // 10
    assert portal.counts["throttled"] <= 4 * max(1, windows) and report.duration >= 2 * (windows - 1)
    # One refresh per token lifetime at most (30-second tokens), not one per request.
    assert report.refreshes == portal.counts["refresh"] <= math.ceil(report.duration / 27) + 1
    # The refused types are "not shared with apps", not failures of the sync.
    assert set(report.not_shared) == set(REFUSED_TYPES) and not any(t.refused for t in report.types.values())


@pytest.mark.asyncio
async def test_a_long_sync_refreshes_once_per_token_lifetime(record: Record) -> None:
    # Eight-second tokens and a portal slow enough (3 requests a second) that one sync outlives them.
    with AuthlibPortal(REDIRECT, limit=3, window=1.0, token_lifetime=8) as portal:
        portals = Portals(record, concurrency=2)  # (4 at a time against 3 a second would starve one request)
        conn = await _connect(portals, portal)
        report = await portals.sync(conn.id)
        assert report.outcome == "complete", report.as_json()
        assert _held(record, conn.id) == {k: content_hash(v) for k, v in portal.served().items()}
        lifetimes = report.duration / 7.2  # each token is used until a tenth of its life is left
        # (+1: a request that waited out the throttle with a token that expired meanwhile gets a 401 and a refresh)
        assert 1 <= report.refreshes == portal.counts["refresh"] <= math.ceil(lifetimes) + 1, (report.refreshes, report.duration)



@pytest.mark.asyncio
async def test_the_loopback_login_uses_the_port_registered_at_an_exact_matching_portal(record: Record) -> None:
    port = free_port()
    with AuthlibPortal(f"http://127.0.0.1:{port}/oauth/callback") as portal:
        portals = Portals(record)
        browsing: list[asyncio.Task[None]] = []

        async def browser(url: str) -> None:  # the patient logs in; the portal sends the browser back to Carry
            location = await log_in_async(url, portal.username, portal.password)
            async with httpx.AsyncClient() as client:
                await client.get(location)

        conn = await portals.connect_loopback(
            portal.base_url, client_id=portal.client_id, callback_port=port, timeout=20,
            on_authorize_url=lambda url: browsing.append(asyncio.create_task(browser(url))),
        )  # fmt: skip
        await asyncio.gather(*browsing)
        assert conn.patient_id == "p-ana" and portal.counts["authorize_refused"] == 0
        assert (await portals.sync(conn.id)).outcome == "complete"


@pytest.mark.asyncio
async def test_a_refused_redirect_uri_is_named_at_once_not_blamed_on_the_login_page(record: Record) -> None:
    registered, other = free_port(), free_port()
    with AuthlibPortal(f"http://127.0.0.1:{registered}/oauth/callback") as portal:
        portals = Portals(record)
        opened: list[str] = []
        started = time.monotonic()
        with pytest.raises(AuthorizationError) as caught:
            await portals.connect_loopback(
                portal.base_url, client_id=portal.client_id, callback_port=other, timeout=20, on_authorize_url=opened.append
            )
        assert time.monotonic() - started < 10 and not opened
        assert caught.value.oauth_error == "redirect_uri"
        assert f"http://127.0.0.1:{other}/oauth/callback" in str(caught.value) and portal.client_id in str(caught.value)
        assert portal.counts["authorize_refused"] >= 1 and portals.sources() == []


@pytest.mark.parametrize(
    ("argv", "toml", "port"),
    [
        ([], None, CALLBACK_PORT),
        (["--callback-port", "8123"], None, 8123),
        ([], '[server."https://fhir.example.org/r4"]\nclient_id = "abc"\ncallback_port = 9191\n', 9191),
        (["--callback-port", "8124"], '[server."https://fhir.example.org/r4"]\nclient_id = "abc"\ncallback_port = 9191\n', 8124),
    ],
)
def test_connect_prints_the_exact_redirect_uri_to_register(tmp_path: Path, argv: list[str], toml: str | None, port: int) -> None:
    if toml is not None:
        config = Path(os.environ["CARRY_CONFIG_DIR"])
        config.mkdir(parents=True, exist_ok=True)
        (config / "clients.toml").write_text(toml, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "connect", "https://fhir.example.org/r4", "--print-redirect", *argv],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"http://127.0.0.1:{port}/oauth/callback"


@pytest.mark.asyncio
async def test_types_the_portal_refuses_are_reported_in_one_line_and_asked_again_only_on_full_or_after_a_week(
    portal: AuthlibPortal, record: Record, tmp_path: Path
) -> None:
    portals = Portals(record)
    conn = await _connect(portals, portal)
    first = await portals.sync(conn.id)
    assert set(first.not_shared) == set(REFUSED_TYPES) and not any(t in first.types for t in REFUSED_TYPES)

    def refused_asks() -> int:
        return sum(portal.asked.get(t, 0) for t in REFUSED_TYPES)

    asked = refused_asks()
    again = await portals.sync(conn.id)
    assert again.outcome == "complete" and refused_asks() == asked  # not asked again...
    assert set(again.not_shared) == set(REFUSED_TYPES)  # ...and still said, once
    await portals.sync(conn.id, full=True)
    assert refused_asks() == asked + len(REFUSED_TYPES)  # --full asks again
    with record.write() as cur:  # a week and a day later
        cur.execute("UPDATE portal_refusal SET since = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-8 days')")
    await portals.sync(conn.id)
    assert refused_asks() == asked + 2 * len(REFUSED_TYPES)

    # The command line says it in one line.
    record.close()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "sync", "--record", str(tmp_path / "record.carry")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CARRY_PASSPHRASE": "correct horse battery staple"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if any(t in line for t in REFUSED_TYPES)]
    assert len(lines) == 1 and "does not share" in lines[0] and "{" not in lines[0], done.stdout


@pytest.mark.asyncio
async def test_a_resource_deleted_at_the_portal_is_marked_removed_at_the_source_not_kept_current(
    portal: AuthlibPortal, record: Record
) -> None:
    portals = Portals(record)
    conn = await _connect(portals, portal)
    await portals.sync(conn.id)
    assert [r.id for r in record.search("Condition number 3")] == ["cond-3"]
    portal.delete("Condition", "cond-3")
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and report.types["Condition"].removed == 1
    assert report.as_json()["types"]["Condition"]["removed"] == 1
    assert all(t.removed == 0 for rtype, t in report.types.items() if rtype != "Condition")
    # Kept, dated, and no longer current: not in lists, search or the summary's facts; still exported.
    (removed_at,) = record.read("SELECT removed_at FROM resource WHERE id = 'cond-3'")[0]
    assert removed_at and removed_at[:4].isdigit()
    assert "cond-3" not in {r.id for r in record.rows("Condition", source_id=conn.id)}
    assert "cond-3" in {r.id for r in record.rows("Condition", source_id=conn.id, removed=True)}
    assert record.search("Condition number 3") == []
    members = {m.id for fact in facts(record, "Condition") for m in fact.members}
    assert "cond-3" not in members and "cond-4" in members  # the summary's problems, the charts, the shares
    out = io.BytesIO()
    record.export(out)
    assert b'"cond-3"' in out.getvalue()
    # Counted once: the next sync finds nothing new to mark.
    assert (await portals.sync(conn.id)).types["Condition"].removed == 0


@pytest.mark.asyncio
async def test_disconnect_says_plainly_when_the_portal_cannot_withdraw_access(
    portal: AuthlibPortal, record: Record, tmp_path: Path
) -> None:
    portals = Portals(record)
    await _connect(portals, portal)
    record.close()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "disconnect", "1", "--record", str(tmp_path / "record.carry")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CARRY_PASSPHRASE": "correct horse battery staple"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Carry deleted its tokens" in done.stdout and "still lists Carry" in done.stdout
    assert "remove Carry in the portal's own settings" in done.stdout


@pytest.mark.asyncio
async def test_provenance_is_searched_where_revinclude_is_not_declared_and_never_fails_a_sync(
    portal: AuthlibPortal, record: Record
) -> None:
    portals = Portals(record)
    conn = await _connect(portals, portal)
    report = await portals.sync(conn.id)
    assert report.types["Provenance"].imported == 5 and portal.asked["Provenance"] >= 1
    portal.provenance_fails = True
    report = await portals.sync(conn.id, full=True)
    assert report.outcome == "complete" and any("Provenance" in w for w in report.warnings), report.as_json()
