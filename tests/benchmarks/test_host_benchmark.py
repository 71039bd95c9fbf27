"""`carry host` under load: requests per second for a doctor's manifest + file (POST the manifest, GET the single-use
file address it hands out) and their p95 latency, on SQLite with one host process and on PostgreSQL with two host
processes behind a round-robin client (as behind a load balancer). Loopback only, a bounded load: CLIENTS threads
for SECONDS each. The baseline, measured in the same run on the same host, is /healthz (one store read, no
crypto): the ratio says what the link routes cost over the bare server.

Run on demand (not part of the test run):
    python -m pytest tests/benchmarks/test_host_benchmark.py -s -p no:cacheprovider
CARRY_BENCH_HOST_CLIENTS (default 16), CARRY_BENCH_HOST_SECONDS (default 5).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from support.carry_host import CarryHost
from support.postgres import postgres_server
from sync.fhir import dumps
from sync.share import build_ips, new_access_keypair, publish
from sync.share.host.hosting import RemoteHostStore

CLIENTS = int(os.environ.get("CARRY_BENCH_HOST_CLIENTS", "16"))
SECONDS = float(os.environ.get("CARRY_BENCH_HOST_SECONDS", "5"))
LINKS = 50
SUMMARY = [("application/fhir+json", dumps(build_ips({"resourceType": "Patient", "id": "p"}, {})))]


def _load(urls: list[str], one: Callable[[httpx.Client, str, int], None]) -> tuple[float, float]:
    """(operations per second, p95 latency in ms) of CLIENTS threads doing `one` for SECONDS."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(n: int) -> None:
        mine = []
        with httpx.Client(timeout=30) as http:
            i = n
            while time.monotonic() < stop:
                started = time.perf_counter()
                one(http, urls[i % len(urls)], i)
                mine.append(time.perf_counter() - started)
                i += CLIENTS
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return len(latencies) / elapsed, statistics.quantiles(latencies, n=20)[18] * 1000


def _measure(name: str, hosts: list[CarryHost]) -> None:
    store = RemoteHostStore(hosts[0].url, hosts[0].add_device("bench"))
    _private, public = new_access_keypair()
    ids = [publish(store, f"{hosts[0].url}/shl", SUMMARY, access_key=public).link_id for _ in range(LINKS)]
    bases = [h.url for h in hosts]

    def health(http: httpx.Client, base: str, i: int) -> None:
        assert http.get(f"{base}/healthz").status_code == 200

    def manifest_and_file(http: httpx.Client, base: str, i: int) -> None:
        answer = http.post(f"{base}/shl/{ids[i % LINKS]}", json={"recipient": "Bench"})
        assert answer.status_code == 200
        location = answer.json()["files"][0]["location"]
        # The file from the other process when there are two: the address is single-use across them.
        other = bases[(i + 1) % len(bases)]
        assert http.get(other + location[location.index("/shl/file/"):]).status_code == 200

    base_rate, base_p95 = _load(bases, health)
    rate, p95 = _load(bases, manifest_and_file)
    print(f"\n{name}: manifest + file {rate:.0f} pairs/s = {2 * rate:.0f} requests/s (p95 of a pair {p95:.0f} ms); "
          f"/healthz {base_rate:.0f} requests/s "
          f"(p95 {base_p95:.0f} ms); ratio {rate / base_rate:.2f} of the bare server; {CLIENTS} clients, "
          f"{SECONDS:.0f} s, loopback")  # fmt: skip
    assert rate > 0 and p95 < 30_000


def test_host_throughput_sqlite_one_process(tmp_path: Path) -> None:
    host = CarryHost(tmp_path, "--rate-per-minute", "100000")
    try:
        _measure("SQLite, one host process", [host])
    finally:
        host.stop()


def test_host_throughput_postgresql_two_processes(tmp_path: Path) -> None:
    with postgres_server() as url:
        first = CarryHost(tmp_path / "a", "--rate-per-minute", "100000", database=url)
        second = CarryHost(tmp_path / "b", "--rate-per-minute", "100000", database=url)
        try:
            _measure("PostgreSQL, two host processes", [first, second])
        finally:
            first.stop()
            second.stop()
