"""Browser test support: the real app server in a subprocess, Debian's Chromium driven by Playwright.

Without /usr/bin/chromium the browser tests skip with a loud reason, except in CI (CI=true), where they fail.
The Playwright objects are module-scoped: its sync API keeps an event loop running on the main thread, which
must be gone before any pytest-asyncio test in a later module runs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.record import Record
from support.records import PASSPHRASE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP: Any = {"width": 1280, "height": 860}  # Playwright's ViewportSize
PHONE: Any = {"width": 390, "height": 844}


def require_chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    reason = f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing (apt-get install chromium)."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " CI=true, so this is a failure, not a skip.")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched by Playwright (skips, or fails in CI, when it is missing)."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"carry serve exited early ({proc.returncode}):\n{out}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"carry serve did not listen on {port} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # uvicorn sometimes waits forever for connections to close on TERM; INT forces the exit (see flet.md).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            continue


class AppServer:
    def __init__(self, record: Path, config: Path) -> None:
        self.record = record
        self.config = config
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = config.parent / "tmp"
        self.tmp.mkdir(exist_ok=True)
        env = {**os.environ, "CARRY_RECORD": str(record), "CARRY_CONFIG_DIR": str(config), "CARRY_NO_BROWSER": "1",
               "CARRY_DATA_DIR": str(config.parent / "data"),  # the share host's store stays in the test's folder
               "TMPDIR": str(self.tmp)}  # so a test can see that nothing is left in the server's temp folder
        env.pop("DISPLAY", None)
        env.pop("CARRY_PASSPHRASE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--no-browser"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        _wait_port(self.port, self.proc)

    def stop(self) -> None:
        _stop(self.proc)


def build_record(path: Path, files: list[str]) -> Path:
    from sync.assets import DEMO_PATIENTS

    record = Record.create(path, PASSPHRASE)
    try:
        for name in files:
            for found in sorted(DEMO_PATIENTS.glob(name)):
                record.import_file(found)
    finally:
        record.close()
    return path


def open_app(context: Any, url: str) -> Any:
    """A new tab on the app: wait for Flutter's first frame, then switch its semantics tree on."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#loading", state="detached", timeout=30000)
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    page.wait_for_selector("flt-semantics", state="attached", timeout=10000)
    return page


def expect() -> Any:
    """Playwright's expect, waiting up to 20 s (a busy machine; the web client's first frames are slow)."""
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=20_000)
    return _expect


def unlock(page: Any, passphrase: str = PASSPHRASE) -> None:
    enter_text(page, "Passphrase", passphrase)
    page.get_by_role("button", name="Unlock", exact=True).click()


def open_unlocked(context: Any, url: str, heading: str | None = None, *, passphrase: str = PASSPHRASE) -> Any:
    """A new tab on `url`, unlocked, once the record is on screen: the heading `heading` (on the Summary, the
    patient's name) or, without one, the top bar's Lock button. Returns the tab."""
    page = open_app(context, url)
    unlock(page, passphrase)
    shown = page.get_by_role("heading", name=heading) if heading else page.get_by_role("button", name="Lock", exact=True)
    expect()(shown).to_be_visible()
    return page


def sign_in_at_demo_portal(context: Any, page: Any, user: str = "elvina") -> Any:
    """From Carry's demo-hospital panel: open the portal's sign-in page (a new tab), sign in as a demo patient,
    and stop at the consent page. Returns the portal's tab."""
    with context.expect_page() as opened:
        page.get_by_role("button", name="Open the sign-in page").click()
    portal = opened.value
    portal.wait_for_load_state()
    portal.get_by_label("Username").fill(user)
    portal.get_by_label("Password").fill(f"{user}-demo")
    portal.get_by_role("button", name="Sign in").click()
    return portal


def shot(page: Any, name: str) -> Path:
    """Save a screenshot (after the paint lag of skwasm) under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.4)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target))
    return target


# Flutter web edits text in one of two ways. Mostly the field's own semantics node, an <input> named after the
# field, takes the focus and the keys. But when a field took the focus before the semantics tree was switched on
# (an autofocused passphrase field, say), Flutter edits in an <input class="flt-text-editing"> of its own, and
# the field's semantics node shows the text some time later.
_FOCUSED = (
    "name => { const e = document.activeElement; if (!e) return false; "
    "if (e.classList.contains('flt-text-editing')) return true; "
    "return e.dataset.semanticsRole === 'text-field' && (e.getAttribute('aria-label') || '').split('\\n')[0] === name; }"
)
_EDITING = (
    "() => { const e = document.activeElement; "
    "return e && e.classList.contains('flt-text-editing') ? e.value : null; }"
)


def focus_field(page: Any, name: str, timeout: float = 10.0) -> Any:
    """Click the text field called `name` until it has the page's focus (a click can land while Flutter is
    replacing the node), then give Flutter time to open its text input connection: it writes its own value and
    selection into the <input> when the connection opens, and nothing in the page shows when that is. Keys
    pressed before it are lost (on a busy machine a Backspace right after the click went nowhere while the next
    letter arrived). An empty focused field adds its hint to its name, so the name is matched up to that.
    Returns the field's locator."""
    box = page.get_by_role("textbox", name=re.compile("^" + re.escape(name) + r"(\s|$)"))
    deadline = time.monotonic() + timeout
    while True:
        box.click()
        clicked = time.monotonic()
        while time.monotonic() - clicked < 1.0:
            if page.evaluate(_FOCUSED, name):
                page.wait_for_timeout(300)
                return box
            page.wait_for_timeout(50)
        if time.monotonic() > deadline:
            raise AssertionError(f"the field {name!r} did not take the keyboard focus")


def field_value(page: Any, box: Any, wanted: str | Callable[[str], bool], timeout: float = 5.0) -> str:
    """The text of a field once it is what is `wanted` (that text, or a test of it), read from Flutter's own
    editing element if it has the focus, else from the field (see _FOCUSED); Flutter web updates either after
    the keys, on a busy machine sometimes not before the next rebuild."""
    matches = wanted if callable(wanted) else (lambda value: value == wanted)
    deadline = time.monotonic() + timeout
    while True:
        for value in (page.evaluate(_EDITING), box.input_value()):
            if isinstance(value, str) and matches(value):
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the field holds {box.input_value()!r}, not what was wanted")
        page.wait_for_timeout(100)


def enter_text(page: Any, name: str, text: str, attempts: int = 3) -> None:
    """Replace what a field holds with `text`, as a person would (select all, type), and check that the field
    then holds exactly that. A passphrase field too: its <input> holds the value although the page shows dots.
    Should Flutter's late text input connection eat the first keys (see focus_field), the edit is made again;
    what the app then does with the text is what the tests check."""
    for attempt in range(attempts):
        box = focus_field(page, name)
        page.keyboard.press("Control+a")
        page.keyboard.type(text)
        try:
            field_value(page, box, text, timeout=3.0)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def by_id(page: Any, identifier: str) -> Any:
    """The control with this test id (labelled() in the app)."""
    return page.locator(f'[flt-semantics-identifier="{identifier}"]')


def pick_file(page: Any, button: str, path: Path) -> None:
    """Click the button with test id `button` and give the file chooser it opens `path`."""
    with page.expect_file_chooser() as chooser:
        by_id(page, button).click()
    chooser.value.set_files(str(path))
