"""A guesser process for the share host's attack tests: it opens `count` connections, prints "ready", and when a
line arrives on stdin sends `count` wrong passcodes for one link at once (a thread each); then it prints their
HTTP statuses as JSON.

    python passcode_guesser.py URL COUNT NAME
"""

from __future__ import annotations

import json
import sys
import threading

import httpx


def main(url: str, count: int, name: str) -> None:
    statuses: list[int] = [0] * count
    ready = threading.Barrier(count + 1)
    go = threading.Event()

    client = httpx.Client(timeout=120, limits=httpx.Limits(max_connections=count))

    def guess(i: int) -> None:
        ready.wait()
        go.wait()
        response = client.post(url, json={"recipient": f"{name} {i}", "passcode": f"{name}-guess-{i}"})
        statuses[i] = response.status_code

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for thread in threads:
        thread.join()
    client.close()
    print(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
