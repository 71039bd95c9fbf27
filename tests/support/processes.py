"""Looking at the processes a command started, through /proc (Linux)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def children(pid: int) -> list[int]:
    """The ids of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def workers(pid: int) -> list[int]:
    """The multiprocessing workers among the children of `pid`."""
    found = []
    for child in children(pid):
        try:
            if b"multiprocessing" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an exited orphan waits to be reaped by whatever init this machine has


def environment_names(pid: int) -> set[bytes]:
    return {item.split(b"=", 1)[0] for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if item}


def kill_while_workers_run(proc: subprocess.Popen[bytes], secrets: dict[str, str], *, wait: float = 180) -> None:
    """Wait until `proc` runs its validation workers, check that none holds a secret (by name or value) in its
    environment, SIGKILL `proc`, and check that the workers end within seconds. Kills any that do not (by id)."""
    started: list[int] = []
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and proc.poll() is None:
            seen = workers(proc.pid)
            if len(seen) >= 2 or (seen and os.cpu_count() == 1):
                started = children(proc.pid)
                break
            time.sleep(0.05)
        assert started, f"no validation workers were seen (the command's exit status: {proc.poll()})"
        for pid in started:
            names = environment_names(pid)
            raw = Path(f"/proc/{pid}/environ").read_bytes()
            for name, value in secrets.items():
                assert name.encode() not in names and value.encode() not in raw, f"a worker holds {name}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.1)
        assert not [pid for pid in started if alive(pid)], "workers outlived the killed command"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for pid in started:  # only the processes this test's command started, by their id
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def wait_listening(proc: subprocess.Popen[bytes], port: int, name: str, output: Callable[[], str]) -> None:
    """Wait until a server process started by a test listens on 127.0.0.1:port; stop it if it never does."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{output()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"{name} did not start")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    for sig in ("terminate", "kill"):
        if proc.poll() is not None:
            break
        getattr(proc, sig)()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            continue
