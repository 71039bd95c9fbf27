"""`carry host --database postgresql://…`: two host processes (separate data directories) on one real PostgreSQL,
as behind a load balancer. The passcode attempt limit and single-use file addresses hold across the processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.carry_host import REPO, CarryHost

from support.postgres import postgres_server
from sync.fhir import dumps
from sync.share import ShareHostError, build_ips, new_access_keypair, publish
from sync.share.host.hosting import RemoteHostStore

LIMIT = 5
SUMMARY = [("application/fhir+json", dumps(build_ips({"resourceType": "Patient", "id": "p"}, {})))]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def hosts(database: str, tmp_path: Path) -> Iterator[tuple[CarryHost, CarryHost]]:
    first = CarryHost(tmp_path / "a", "--max-links", "3", database=database)
    try:
        second = CarryHost(tmp_path / "b", "--max-links", "3", database=database)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def test_two_host_processes_on_postgresql_check_at_most_the_limit_of_200_parallel_guesses(
    hosts: tuple[CarryHost, CarryHost],
) -> None:
    first, second = hosts
    assert not (first.data / "host.sqlite").exists()  # the store is PostgreSQL, not a file of either process
    store = RemoteHostStore(first.url, first.add_device("laptop"))
    _private, public = new_access_keypair()
    link = publish(store, f"{first.url}/shl", SUMMARY, access_key=public, passcode="right-one", max_attempts=LIMIT)
    # Both processes serve the same link: the second knows it without having been told.
    paths = [f"{h.url}/shl/{link.link_id}" for h in (first, second)]

    def guess(n: int) -> int:
        answer = httpx.post(paths[n % 2], json={"recipient": f"guesser {n}", "passcode": f"wrong-{n}"}, timeout=60)
        return answer.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(guess, range(200)))
    assert statuses.count(401) == LIMIT, statuses  # checked (and refused): exactly the limit, no more
    assert statuses.count(404) == 200 - LIMIT
    # The budget is spent everywhere: even the right passcode is not checked any more, on either process.
    for path in paths:
        locked = httpx.post(path, json={"recipient": "Dr. Okafor", "passcode": "right-one"}, timeout=30)
        assert locked.status_code == 404 and locked.json()["reason"] == "locked"
    # Each checked guess left a sealed access entry for the patient, whichever process checked it.
    assert len(store.access_since(0)) == LIMIT


def test_a_file_address_is_used_once_across_host_processes(hosts: tuple[CarryHost, CarryHost]) -> None:
    first, second = hosts
    store = RemoteHostStore(second.url, second.add_device("phone"))
    _private, public = new_access_keypair()
    link = publish(store, f"{first.url}/shl", SUMMARY, access_key=public)
    manifest = httpx.post(f"{first.url}/shl/{link.link_id}", json={"recipient": "Dr. Okafor"}, timeout=30).json()
    location = manifest["files"][0]["location"]
    assert location.startswith(f"{first.url}/shl/file/")
    token = location.rsplit("/", 1)[1]
    both = [f"{h.url}/shl/file/{token}" for h in (first, second)]

    def fetch(n: int) -> int:
        return httpx.get(both[n % 2], timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(fetch, range(40)))
    assert statuses.count(200) == 1 and statuses.count(404) == 39, statuses


def test_a_devices_link_quota_holds_across_host_processes(hosts: tuple[CarryHost, CarryHost]) -> None:
    """20 publishes at once from one device, spread over both processes: exactly its quota of 3 is kept."""
    first, second = hosts
    credential = first.add_device("tablet")
    stores = [RemoteHostStore(h.url, credential) for h in (first, second)]
    _private, public = new_access_keypair()

    def publish_one(n: int) -> str:
        try:
            publish(stores[n % 2], f"{first.url}/shl", SUMMARY, access_key=public)
        except ShareHostError as exc:
            return str(exc)
        return "kept"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(publish_one, range(20)))
    assert outcomes.count("kept") == 3, outcomes
    assert all("3 live links on the host, its limit" in o for o in outcomes if o != "kept")


def test_a_database_nobody_answers_at_is_one_sentence_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**os.environ, "CARRY_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "app.cli", "host", "devices", "--database",
                           f"postgresql://carry:hunter2-secret@127.0.0.1:{port}/carry"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == ("carry: Carry could not open the share host's PostgreSQL database; check --database and "
                           "that the server is running.\n")  # fmt: skip
