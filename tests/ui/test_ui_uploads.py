"""Files picked in the browser on their way to an import (app/ui/uploads.py): kept where only this user can read
them (0600 in a 0700 folder), bounded in size (refused while streaming, nothing left), one upload per address,
a hostile file name kept inside its folder, deleted with its folder."""

from __future__ import annotations

import asyncio
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from support.serving import Running
from ui.test_ui_server import context, running  # noqa: F401 - the real app server, as its own tests run it

from app.ui import AppContext
from app.ui.uploads import UPLOAD_LIMIT, UploadFailed, Uploads, discard, too_large


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _left(folder: Path) -> list[str]:
    """Upload folders left behind (the web server keeps its own files in the temp folder too)."""
    return [p.name for p in folder.iterdir() if p.name.startswith("carry-upload")]


async def _body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_an_upload_is_private_and_deleted_with_its_folder(private_tmp: Path) -> None:
    async def go() -> Path:
        uploads = Uploads()
        token = uploads.expect("../../etc/export.xml")
        assert await uploads.receive(token, "11", _body(b"hello ", b"world")) == 200
        assert await uploads.receive(token, None, _body(b"again")) == 404  # one upload per address
        return await uploads.wait(token, timeout=5)

    path = asyncio.run(go())
    assert path.name == "export.xml" and path.parent.parent == private_tmp  # the name cannot climb out
    assert path.read_bytes() == b"hello world"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    discard(path)
    assert _left(private_tmp) == []


@pytest.mark.parametrize("declared", ["100", None], ids=["declared", "streamed"])
def test_a_file_past_the_limit_is_refused_and_nothing_is_left(private_tmp: Path, declared: str | None) -> None:
    async def go() -> tuple[int, str]:
        uploads = Uploads()
        token = uploads.expect("big.xml", limit=10)
        status = await uploads.receive(token, declared, _body(b"x" * 6, b"x" * 6))
        with pytest.raises(UploadFailed) as refused:
            await uploads.wait(token, timeout=5)
        return status, str(refused.value)

    status, message = asyncio.run(go())
    assert status == 413 and message == "The file is larger than Carry imports (10 bytes at most)."
    assert _left(private_tmp) == []


def test_an_unknown_address_takes_nothing(private_tmp: Path) -> None:
    async def go() -> int:
        return await Uploads().receive("not-a-token", None, _body(b"data"))

    assert asyncio.run(go()) == 404
    assert _left(private_tmp) == []


def test_the_limit_is_said_in_words() -> None:
    assert too_large(UPLOAD_LIMIT) == "The file is larger than Carry imports (1 GB at most)."
    assert too_large(3 << 19) == "The file is larger than Carry imports (1.5 MB at most)."


def test_a_file_that_arrives_after_the_session_stopped_waiting_is_deleted(private_tmp: Path) -> None:
    async def go() -> int:
        uploads = Uploads()
        token = uploads.expect("late.xml")
        with pytest.raises(UploadFailed, match="did not arrive in time"):
            await uploads.wait(token, timeout=0.01)
        return await uploads.receive(token, None, _body(b"too late"))

    assert asyncio.run(go()) == 404
    assert _left(private_tmp) == []


def test_a_file_still_streaming_when_the_session_gives_up_is_deleted(private_tmp: Path) -> None:
    async def go() -> int:
        uploads = Uploads()
        token = uploads.expect("slow.xml")

        async def slow() -> AsyncIterator[bytes]:
            yield b"first"
            await asyncio.wait([waiting])  # the session's wait ends (times out) meanwhile
            yield b"second"

        waiting = asyncio.ensure_future(uploads.wait(token, timeout=0.05))
        status = await uploads.receive(token, None, slow())
        with pytest.raises(UploadFailed):
            await waiting
        return status

    assert asyncio.run(go()) == 410
    assert _left(private_tmp) == []


def test_the_upload_route_takes_a_file_from_this_origin_only(running: Running, context: AppContext,  # noqa: F811
                                                              private_tmp: Path) -> None:  # fmt: skip
    base = f"http://127.0.0.1:{running.port}"
    uploads = context.uploads
    token = uploads.expect("export.xml", limit=64)
    assert httpx.put(f"{base}/upload/{token}", content=b"<HealthData/>").status_code == 403  # no Origin
    evil = httpx.put(f"{base}/upload/{token}", content=b"<HealthData/>", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and _left(private_tmp) == []
    mine = {"Origin": base}
    assert httpx.put(f"{base}/upload/not-a-token", content=b"x", headers=mine).status_code == 404
    done = httpx.put(f"{base}/upload/{token}", content=b"<HealthData/>", headers=mine)
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    path = asyncio.run(uploads.wait(token, timeout=5))
    assert path.read_bytes() == b"<HealthData/>"
    discard(path)
    big = uploads.expect("big.xml", limit=64)
    assert httpx.put(f"{base}/upload/{big}", content=b"x" * 65, headers=mine).status_code == 413
    assert _left(private_tmp) == []
