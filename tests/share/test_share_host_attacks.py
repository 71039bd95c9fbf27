"""Issue 13 against the share host over real HTTP: the passcode budget under parallel guesses from several
processes (finding 2), bodies refused while they stream (finding 5), JSON nested too deep (finding 8)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from share_helpers import Host
from support.floods import rss_kib, send_until_answered

from sync.fhir import dumps
from sync.share import MAX_REQUEST_BODY, PublishedLink, publish
from sync.passwords import check_secret

FHIR = "application/fhir+json"
GUESSER = Path(__file__).resolve().parent / "passcode_guesser.py"


def _publish(host: Host, ips: dict[str, Any], **kwargs: Any) -> PublishedLink:
    return publish(host.store, host.base, [(FHIR, dumps(ips))], access_key=host.public_jwk, **kwargs)


def test_parallel_guesses_from_four_processes_check_exactly_the_limit(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="correct horse", max_attempts=5)
    # What one passcode check costs this machine now: the guesses are checked in this process (the host runs in
    # a thread of it), so its CPU time during the attack says how many were checked, whatever their answers.
    started = time.process_time()
    for _ in range(3):
        check_secret("a guess", _hash_of(host, link))
    one_check = (time.process_time() - started) / 3
    guessers = [
        subprocess.Popen([sys.executable, str(GUESSER), link.payload.url, "50", f"p{n}"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        for n in range(4)
    ]
    try:
        for guesser in guessers:  # every process has its 50 threads waiting
            assert guesser.stdout is not None and guesser.stdout.readline().strip() == b"ready"
        cpu_before = time.process_time()
        for guesser in guessers:
            assert guesser.stdin is not None
            guesser.stdin.write(b"go\n")
            guesser.stdin.flush()
        # The right passcode, sent once the wrong ones have spent the budget (they are still being answered).
        deadline = time.monotonic() + 120
        while (hosted := host.store.link(link.link_id)) is not None and hosted.attempts_left != 0:
            assert time.monotonic() < deadline, "the wrong guesses never spent the budget"
            time.sleep(0.01)
        right = httpx.post(link.payload.url, json={"recipient": "Dr Rivera", "passcode": "correct horse"}, timeout=120)
        statuses: list[int] = []
        for guesser in guessers:
            out, err = guesser.communicate(timeout=300)  # stdout after "ready": the statuses
            assert guesser.returncode == 0, err.decode(errors="replace")
            statuses += json.loads(out)
        cpu_spent = time.process_time() - cpu_before
    finally:
        for guesser in guessers:
            if guesser.poll() is None:
                guesser.kill()
                guesser.wait()
    # Exactly the budget was checked (each checked wrong guess answers 401); every other guess found no attempt.
    assert sorted(set(statuses)) == [401, 404] and statuses.count(401) == 5 and statuses.count(404) == 195
    assert right.status_code == 404  # the budget was spent before the right passcode arrived
    # 6 checks (5 wrong, 1 right) and 201 small requests, not 201 checks: far below 40 checks' worth of CPU.
    assert cpu_spent < 40 * one_check, (cpu_spent, one_check)
    hosted = host.store.link(link.link_id)
    assert hosted is not None and hosted.attempts_left == 0


def _hash_of(host: Host, link: PublishedLink) -> str:
    hosted = host.store.link(link.link_id)
    assert hosted is not None and hosted.passcode_hash is not None
    return hosted.passcode_hash


def test_the_right_passcode_gives_its_attempt_back(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="1234", max_attempts=2)
    for _ in range(5):
        response = httpx.post(link.payload.url, json={"recipient": "Dr Rivera", "passcode": "1234"})
        assert response.status_code == 200
    hosted = host.store.link(link.link_id)
    assert hosted is not None and hosted.attempts_left == 2


def test_a_300_mb_body_is_refused_at_16_kib(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    total = 300 * 1024 * 1024
    before = rss_kib()
    for headers in (f"Content-Type: application/json\r\nContent-Length: {total}\r\n",
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"):  # fmt: skip
        answer, sent = send_until_answered(link.payload.url, headers, total)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 16 * 1024 * 1024  # answered long before the body was through (socket buffers aside)
    assert rss_kib() - before < 64 * 1024  # the server held no more than a little of it
    assert MAX_REQUEST_BODY == 16 * 1024
    # A body just under the limit is still read and answered.
    ok = httpx.post(link.payload.url, content=json.dumps({"recipient": "Dr R" + " " * (MAX_REQUEST_BODY - 40)}))
    assert ok.status_code == 200


def test_deeply_nested_json_is_a_bad_request_not_a_crash(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    for body in (b"[" * 8000 + b"]" * 8000, b'{"recipient": ' + b"[" * 8000 + b"]" * 8000 + b"}"):
        response = httpx.post(link.payload.url, content=body)
        assert response.status_code == 400
        assert response.json() == {"error": "The request body must be JSON."}
    assert httpx.post(link.payload.url, json={"recipient": "Dr R"}).status_code == 200


def test_every_answer_of_the_host_carries_the_security_headers(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="1234")
    with httpx.Client(timeout=30) as client:
        manifest = client.post(link.payload.url, json={"recipient": "Dr R", "passcode": "1234"})
        answers = [
            manifest,
            client.get(manifest.json()["files"][0]["location"]),
            client.post(link.payload.url, json={"recipient": "Dr R", "passcode": "0000"}),  # 401
            client.post(link.payload.url, content=b"[" * 20_000),  # 413
            client.post(link.payload.url, content=b"{"),  # 400
            client.post(host.base + "/no-such-link", json={"recipient": "Dr R"}),  # 404
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 413, 400, 404]
    for answer in answers:
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
