"""A guesser process for the share host's attack tests: at a given wall-clock moment it sends `count` wrong
passcodes for one link at once (a thread each) and prints their HTTP statuses as JSON.

    python passcode_guesser.py URL START_AT COUNT NAME
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(url: str, start_at: float, count: int, name: str) -> None:
    statuses: list[int] = [0] * count
    ready = threading.Barrier(count)

    def guess(i: int) -> None:
        with httpx.Client(timeout=120) as client:
            ready.wait()
            time.sleep(max(0.0, start_at - time.time()))
            response = client.post(url, json={"recipient": f"{name} {i}", "passcode": f"{name}-guess-{i}"})
            statuses[i] = response.status_code

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
