"""The Flet web client's files as Carry serves them: Carry's own web-app manifest, icons and favicon (so a phone
can add Carry to its home screen), and Flet's index page with two scripts added: one keeps the page from loading
anything from another host (app/web/carry-offline.js says why), one has Flutter draw on a single thread
(app/web/carry-renderer.js says why)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from sync.assets import FONTS

__all__ = ["FALLBACK_FONT_URL", "OFFLINE_SCRIPT", "RENDERER_SCRIPT", "WEB_FILES", "client_dir"]

WEB_FILES = Path(__file__).resolve().parent / "web"
OFFLINE_SCRIPT = "carry-offline.js"
RENDERER_SCRIPT = "carry-renderer.js"  # skwasm on one thread (app/web/carry-renderer.js says why)
# Flet's index.html marks where its configuration script goes; Carry's scripts go just before it, so they run
# before the Flutter bootstrap loads main.dart.js.
_MARKER = "<!-- fletAppConfig -->"
# DejaVu Sans (assets/fonts), the client's fallback font for what Roboto cannot draw (app/ui/theme.py,
# FALLBACK_FONT), served from Carry's own origin at this address.
FALLBACK_FONT_URL = "/fonts/DejaVuSans.ttf"


@functools.cache
def client_dir() -> Path:
    """A folder for flet_web's `assets_dir`: Carry's web files, the fallback font, and an index.html that loads
    OFFLINE_SCRIPT and RENDERER_SCRIPT first.
    flet_web serves this folder before its own web folder, and takes index.html and manifest.json from it. Made
    once per process (it holds no health data) and removed at exit."""
    import flet_web

    index = (Path(flet_web.__file__).resolve().parent / "web" / "index.html").read_text(encoding="utf-8")
    if _MARKER not in index:
        raise RuntimeError(f"flet_web's index.html has no {_MARKER}; Carry cannot add its scripts to it.")
    folder = Path(tempfile.mkdtemp(prefix="carry-web-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copytree(WEB_FILES, folder, dirs_exist_ok=True)
    font = folder / FALLBACK_FONT_URL.lstrip("/")
    font.parent.mkdir(exist_ok=True)
    shutil.copyfile(FONTS / "DejaVuSans.ttf", font)
    script = "".join(f'<script src="{name}"></script>\n  ' for name in (OFFLINE_SCRIPT, RENDERER_SCRIPT))
    (folder / "index.html").write_text(index.replace(_MARKER, script + _MARKER, 1), encoding="utf-8")
    return folder
