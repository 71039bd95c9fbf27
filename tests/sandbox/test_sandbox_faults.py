"""Misbehaviour switches: each fault does what it says, for as long as it says, and only where it says."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
from sandbox_support import CLOCK, App, Connection

from sync.sandbox import Faults, SandboxServer


@pytest.fixture(scope="module")
def jesus(sandbox: SandboxServer) -> Connection:
    return App(sandbox).connect("jesus")


def _labs(sandbox: SandboxServer, who: Connection, **params: str | int) -> httpx.Response:
    query = {"patient": who.patient, "category": "laboratory", "_count": 10, **params}
    return httpx.get(f"{sandbox.base_url}/Observation", params=query, headers=who.headers, timeout=10)


def _conditions(sandbox: SandboxServer, who: Connection) -> httpx.Response:
    return httpx.get(f"{sandbox.base_url}/Condition", params={"patient": who.patient}, headers=who.headers, timeout=10)


def _next(bundle: dict[str, object]) -> str:
    links = bundle["link"]
    assert isinstance(links, list)
    return str(next(link["url"] for link in links if link["relation"] == "next"))


def test_rate_limit_with_retry_after_for_n_requests(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("rate_limit", seconds=7, times=2)
    for _ in range(2):
        response = _labs(sandbox, jesus)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json()["issue"][0]["code"] == "throttled"
    assert _labs(sandbox, jesus).status_code == 200


def test_fault_for_one_resource_type(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("rate_limit", resource_type="Condition")
    assert _labs(sandbox, jesus).status_code == 200
    assert _conditions(sandbox, jesus).status_code == 429
    assert _conditions(sandbox, jesus).status_code == 429  # until cleared
    faults.clear()
    assert _conditions(sandbox, jesus).status_code == 200


def test_server_error(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("server_error", times=1)
    response = _labs(sandbox, jesus)
    assert response.status_code == 500 and response.json()["resourceType"] == "OperationOutcome"
    assert _labs(sandbox, jesus).status_code == 200


def test_unavailable_with_and_without_retry_after(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("unavailable", times=1, seconds=3)
    first = _labs(sandbox, jesus)
    assert first.status_code == 503 and first.headers["retry-after"] == "3"
    faults.set("unavailable", times=1)
    second = _labs(sandbox, jesus)
    assert second.status_code == 503 and "retry-after" not in second.headers


def test_discovery_and_oauth_are_not_affected(sandbox: SandboxServer, faults: Faults) -> None:
    faults.set("server_error")
    assert httpx.get(f"{sandbox.base_url}/metadata").status_code == 200
    assert httpx.get(f"{sandbox.base_url}/.well-known/smart-configuration").status_code == 200
    App(sandbox).connect("elvina")


def test_slow(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("slow", delay=0.4, times=2)
    started = time.monotonic()
    assert _labs(sandbox, jesus).status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            f"{sandbox.base_url}/Observation",
            params={"patient": jesus.patient, "category": "laboratory"},
            headers=jesus.headers,
            timeout=httpx.Timeout(5, read=0.1),
        )


def test_drop_connection_mid_body(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("drop_connection", times=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        _labs(sandbox, jesus)
    assert _labs(sandbox, jesus).status_code == 200


def test_drop_connection_on_a_binary(sandbox: SandboxServer, faults: Faults) -> None:
    who = App(sandbox).connect("carolyne")
    doc = next(
        d for d in sandbox.store.for_patient(who.patient, "DocumentReference") if "url" in d["content"][0]["attachment"]
    )
    faults.set("drop_connection", resource_type="Binary", times=1)
    url = f"{sandbox.base_url}/{doc['content'][0]['attachment']['url']}"
    with httpx.Client(timeout=10) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.get(url, headers=who.headers)
        assert client.get(url, headers=who.headers).status_code == 200


def test_expire_token_early(sandbox: SandboxServer, faults: Faults) -> None:
    faults.set("expire_token_early", seconds=0, times=1)
    dead = App(sandbox).connect("elvina")
    assert dead.body["expires_in"] == 3600  # the server says an hour, and does not keep its word
    response = httpx.get(f"{sandbox.base_url}/Patient/{dead.patient}", headers=dead.headers)
    assert response.status_code == 401
    refreshed = App(sandbox).refresh(dead.body["refresh_token"]).json()
    ok = httpx.get(f"{sandbox.base_url}/Patient/{dead.patient}", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert ok.status_code == 200


def test_expire_token_after_some_seconds(sandbox: SandboxServer, faults: Faults) -> None:
    faults.set("expire_token_early", seconds=1, times=1)
    who = App(sandbox).connect("elvina")
    url = f"{sandbox.base_url}/Patient/{who.patient}"
    assert httpx.get(url, headers=who.headers).status_code == 200
    CLOCK.advance(1.1)
    assert httpx.get(url, headers=who.headers).status_code == 401


def test_revoked_refresh_token(sandbox: SandboxServer, faults: Faults) -> None:
    app = App(sandbox)
    who = app.connect("elvina")
    faults.set("revoke_refresh", times=1)
    response = app.refresh(who.body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert app.refresh(who.body["refresh_token"]).json()["error"] == "invalid_grant"  # dead for good


def test_repeat_ids_on_the_next_page(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("repeat_ids", times=1)
    first = _labs(sandbox, jesus).json()  # a first page has nothing to repeat, and does not use the fault up
    first_ids = [e["resource"]["id"] for e in first["entry"]]
    second = httpx.get(_next(first), headers=jesus.headers).json()
    second_ids = [e["resource"]["id"] for e in second["entry"]]
    assert second_ids[:2] == first_ids[-2:]
    assert len(second_ids) == 12
    third = httpx.get(_next(second), headers=jesus.headers).json()
    assert not {e["resource"]["id"] for e in third["entry"]} & set(second_ids)


def test_outcome_entry_inside_a_searchset(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("outcome_entry", times=1)
    bundle = _labs(sandbox, jesus).json()
    outcomes = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1 and outcomes[0]["resource"]["resourceType"] == "OperationOutcome"
    assert len([e for e in bundle["entry"] if e["search"]["mode"] == "match"]) == 10
    assert all(e["search"]["mode"] == "match" for e in _labs(sandbox, jesus).json()["entry"])


def test_foreign_next_link(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    faults.set("foreign_next", times=1)
    link = urlsplit(_next(_labs(sandbox, jesus).json()))
    assert link.hostname == "127.0.0.2" and link.port == sandbox.port
    assert link.path.startswith("/fhir/_page/")
    assert urlsplit(_next(_labs(sandbox, jesus).json())).hostname == "127.0.0.1"


def test_fault_on_next_pages_uses_the_searched_type(sandbox: SandboxServer, jesus: Connection, faults: Faults) -> None:
    first = _labs(sandbox, jesus).json()
    faults.set("server_error", resource_type="Observation", times=1)
    assert httpx.get(_next(first), headers=jesus.headers).status_code == 500
    assert httpx.get(_next(first), headers=jesus.headers).status_code == 200


def test_fault_switches_are_checked(faults: Faults) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        faults.set("meteor_strike")
    with pytest.raises(ValueError, match="takes"):
        faults.set("rate_limit", delay=3)
    with pytest.raises(ValueError):
        faults.set("server_error", times=0)
    faults.set("server_error")
    faults.set("slow", seconds=0.1)
    assert [f.kind for f in faults.active()] == ["server_error", "slow"]
    assert faults.active()[1].params == {"delay": 0.1}
    faults.clear("slow")
    assert [f.kind for f in faults.active()] == ["server_error"]
    faults.clear()
    assert faults.active() == []


def test_latency_delays_every_data_request_and_nothing_else() -> None:
    # `carry sandbox --latency`: a portal across the internet, for trying (and benchmarking) Carry under real delays.
    with SandboxServer(latency=0.3) as slow:
        who = App(slow).connect("jesus")
        started = time.monotonic()
        assert httpx.get(f"{slow.base_url}/metadata", timeout=10).status_code == 200
        metadata_s = time.monotonic() - started
        started = time.monotonic()
        assert _labs(slow, who).status_code == 200
        search_s = time.monotonic() - started
    assert search_s >= 0.3 > metadata_s
