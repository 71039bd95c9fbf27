"""Carry as an installable web app, over real HTTP: its own manifest and icons, and an index page that loads
Carry's offline and renderer scripts before the Flutter client (the browser tests in test_ui_offline.py and
test_ui_renderer.py check their effect)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server import build_app
from app.ui import AppContext
from app.web_client import OFFLINE_SCRIPT, RENDERER_SCRIPT, WEB_FILES

from ui.test_ui_server import Running, _free_port


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    context = AppContext(record_path=tmp_path / "record.carry", public_url="http://127.0.0.1:0")
    server = Running(build_app(context, port=port), port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_the_manifest_names_carry_and_its_icons_are_carrys(base_url: str) -> None:
    from PIL import Image

    with httpx.Client(base_url=base_url, timeout=10) as client:
        manifest = client.get("/manifest.json").json()
        assert manifest["name"] == "Carry" and manifest["short_name"] == "Carry"
        # Opens full screen from the home screen, at Carry's start page, in Carry's colours.
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
        assert manifest["theme_color"] == "#2B6F6B"
        purposes = {icon.get("purpose", "any") for icon in manifest["icons"]}
        assert purposes == {"any", "maskable"}
        for icon in manifest["icons"]:
            answer = client.get("/" + icon["src"])
            assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
            assert answer.content == (WEB_FILES / icon["src"]).read_bytes()
            width, height = Image.open(io.BytesIO(answer.content)).size
            assert f"{width}x{height}" == icon["sizes"]
        index = client.get("/").text
        for linked in ("icons/apple-touch-icon-192.png", "favicon.png"):
            assert linked in index
            assert client.get("/" + linked).content == (WEB_FILES / linked).read_bytes()


@pytest.mark.parametrize("name", [OFFLINE_SCRIPT, RENDERER_SCRIPT])
def test_the_index_page_loads_carrys_scripts_before_the_client(base_url: str, name: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        # Any app route gets the same index page (the client routes itself).
        for path in ("/", "/timeline"):
            index = client.get(path).text
            mark = f'<script src="{name}"></script>'
            assert index.count(mark) == 1
            assert index.index(mark) < index.index("flutter_bootstrap.js")
        script = client.get("/" + name)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert script.text == (WEB_FILES / name).read_text(encoding="utf-8")
    json.loads((WEB_FILES / "manifest.json").read_text(encoding="utf-8"))  # the shipped manifest is valid JSON
