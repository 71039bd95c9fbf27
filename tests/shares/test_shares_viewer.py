"""The doctor's side of a QR code: `carry share --qr` writes a PNG, a QR library decodes it, and the URL it holds
opens Carry's own viewer (served by the real `carry serve` at /shl/view) in headless Chromium at phone and desktop
width. The viewer decrypts in the browser; every request the page makes is recorded, and none may leave the
share host. Wrong passcode, expired and revoked links each get their own sentence."""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import zxingcpp
from PIL import Image

from app.cli import main
from app.locations import share_host_path
from support.records import PASSPHRASE
from sync.fhir import dumps
from sync.share import SQLiteShareHostStore, build_ips, encode_link, new_access_keypair, new_payload, publish

from ui.browser_support import DESKTOP, PHONE, chromium, shot

pytestmark = [pytest.mark.browser]
CODE = "4711-rivera"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def patient(elvina_path: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", CODE)
    carry_server.use(monkeypatch)
    return elvina_path


def _qr_link(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, str]:
    qr = tmp_path / "qr.png"
    code = main(["share", "--label", "For Dr Rivera", "--qr", str(qr), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    # QR codes only: zxing-cpp finds a Codabar now and then in a QR code's modules (2 of 1,500 random links)
    found = zxingcpp.read_barcodes(Image.open(qr), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert len(found) == 1
    return found[0].text, out.strip()


def _print(page: Any) -> None:
    """Print calls the browser's print (replaced here by a counter: headless Chromium has no print dialog), and
    the printed page is the summary without the page's controls."""
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    try:
        for control in ("button", ".bar", "#intro"):
            assert not any(page.locator(control).evaluate_all("all => all.map(e => e.offsetParent !== null)")), control
        assert page.get_by_role("heading", level=1, name="Elvina Lemke").is_visible()
        assert page.get_by_role("heading", level=2, name="Medications").is_visible()
    finally:
        page.emulate_media(media="screen")


class _Tab:
    """A page of its own context at one width, with every request it makes written down."""

    def __init__(self, browser: Any, viewport: Any) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.console.append(str(error)))

    def open(self, url: str, recipient: str, passcode: str | None) -> None:
        self.page.goto(url)
        self.page.get_by_label("Your name").fill(recipient)
        if passcode is not None:
            self.page.get_by_label("Passcode").fill(passcode)
            self.page.get_by_label("Passcode").press("Enter")  # Enter submits
        else:
            self.page.get_by_role("button", name="Open the summary").click()

    def problem(self) -> str:
        self.page.wait_for_selector("#problem:not([hidden])", timeout=15000)
        return str(self.page.inner_text("#problem"))

    def hosts(self) -> set[str]:
        return {urlsplit(u).netloc for u in self.requests if not u.startswith(("blob:", "data:"))}

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_qr_opens_the_viewer_and_shows_the_summary(
    browser: Any, patient: Path, carry_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    viewport: Any,
) -> None:  # fmt: skip
    url, printed = _qr_link(tmp_path, capsys, "--passcode")
    assert url == printed and url.startswith(f"{carry_server.url}/shl/view#shlink:/")
    tab = _Tab(browser, viewport)
    try:
        tab.open(url, "Dr. Rivera", "wrong-code")
        assert tab.problem() == "That passcode is not right. 4 attempts left."
        tab.page.get_by_label("Passcode").fill(CODE)
        tab.page.get_by_role("button", name="Open the summary").click()
        heading = tab.page.get_by_role("heading", level=1, name="Elvina Lemke")
        try:
            heading.wait_for(timeout=20000)
        except Exception:
            raise AssertionError(f"{tab.page.inner_text('main')!r} {tab.console}") from None
        text = tab.page.inner_text("#summary")
        assert text.index("Elvina Lemke") < text.index("Osteoporosis")  # whose summary, first
        facts = tab.page.inner_text("#patient-facts")
        today = datetime.now(timezone.utc).date()
        age = today.year - 1953 - ((today.month, today.day) < (6, 2))
        assert f"Born 1953-06-02 (aged {age})" in facts and "Sex: female" in facts
        for shown in ("Osteoporosis", "Prediabetes", "Allerg", "criticality"):
            assert shown in text, shown
        assert tab.page.get_by_role("heading", level=2, name="Medications").count() == 1
        assert tab.page.locator("table").count() >= 3
        assert tab.page.get_by_role("button", name="Save FHIR JSON").is_visible()
        assert tab.page.get_by_role("button", name="Print").is_visible()
        # Nothing sideways at phone width: the page is no wider than the screen.
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # Each row says where it came from: the source the record got it from, carried as Provenance.
        sources = tab.page.eval_on_selector_all('td[data-label="Source"]', "cells => cells.map(c => c.textContent)")
        assert sources and set(sources) == {"Imported files"}, sources
        with tab.page.expect_download() as saved:
            tab.page.get_by_role("button", name="Save FHIR JSON").click()
        assert saved.value.suggested_filename == "elvina-lemke-health-summary.json"
        shot(tab.page, f"viewer-summary-{viewport['width']}")
        _print(tab.page)
        assert tab.hosts() == {urlsplit(carry_server.url).netloc}, tab.requests
    finally:
        tab.close()
    # The patient sees who opened it.
    code = main(["shares", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and "Dr. Rivera" in out


def test_revoked_and_expired_links_say_so(
    browser: Any, patient: Path, carry_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    url, _ = _qr_link(tmp_path, capsys)
    listed = main(["shares", "--json"])
    out, _ = capsys.readouterr()
    assert listed == 0
    newest = max(json.loads(out), key=lambda link: str(link.get("created") or ""))
    assert main(["share", "revoke", newest["link_id"]]) == 0
    capsys.readouterr()
    # An expired link, put on the same host with an expiry already past (publishing on the store directly allows it).
    store = SQLiteShareHostStore(share_host_path())
    _private, public = new_access_keypair()
    patient_resource = {"resourceType": "Patient", "id": "p", "name": [{"family": "Lemke", "given": ["Elvina"]}]}
    expiring = publish(store, f"{carry_server.url}/shl", [("application/fhir+json", dumps(build_ips(patient_resource, {})))],
                       access_key=public, exp=time.time() - 60, viewer=f"{carry_server.url}/shl/view")  # fmt: skip
    tab = _Tab(browser, PHONE)
    try:
        tab.open(url, "Dr. Rivera", None)
        assert tab.problem() == (
            "The patient has revoked this link. Ask them for a new one if you still need the summary."
        )
        tab.page.goto("about:blank")
        tab.page.goto(expiring.uri)
        assert tab.problem() == "This link has expired. Ask the patient for a new one."
        tab.page.goto(f"{carry_server.url}/shl/view")
        assert "holds no link" in tab.problem()
        # A link the host never made, and a host nobody answers at.
        unknown = new_payload(f"{carry_server.url}/shl")
        tab.open(f"{carry_server.url}/shl/view#" + encode_link(unknown), "Dr. Rivera", None)
        assert tab.problem() == ("This link is not known to its share host: it may have been revoked or have "
                                 "expired. Ask the patient for a new one.")  # fmt: skip
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        nowhere = new_payload(f"http://127.0.0.1:{port}/shl")
        tab.page.goto("about:blank")
        tab.open(f"{carry_server.url}/shl/view#" + encode_link(nowhere), "Dr. Rivera", None)
        assert tab.problem() == (f"The share host at 127.0.0.1:{port} could not be reached. Check the network "
                                 "connection and try again.")  # fmt: skip
        assert tab.hosts() == {urlsplit(carry_server.url).netloc, f"127.0.0.1:{port}"}, tab.requests
    finally:
        tab.close()


def test_the_viewer_reads_a_check_in_link(
    browser: Any, patient: Path, carry_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    """A Kill the Clipboard link (flag U: no passcode, a plain GET with ?recipient=) opens in the same viewer: the
    collection Bundle grouped into sections, its PDF offered, and the GET in the patient's access log."""
    url, printed = _qr_link(tmp_path, capsys, "--ktc")
    assert url == printed
    tab = _Tab(browser, PHONE)
    try:
        tab.page.goto(url)
        assert tab.page.locator("#passcode-field").is_hidden()
        tab.page.get_by_label("Your name").fill("Riverside Clinic")
        tab.page.get_by_label("Your name").press("Enter")
        tab.page.get_by_role("heading", level=1, name="Elvina Lemke").wait_for(timeout=20000)
        text = tab.page.inner_text("#summary")
        assert "Patient-shared records (clinic check-in)" in text
        for title in ("Problems", "Allergies and intolerances", "Medications", "Documents"):
            assert tab.page.get_by_role("heading", level=2, name=title).count() == 1, title
        assert "Osteoporosis" in text and "All of these records as a PDF" in text
        # The rendering shows the portals' records: not marked as the patient's own words.
        assert "Written by the patient" not in text
        with tab.page.expect_download() as saved:
            tab.page.get_by_role("button", name="Save the PDF").first.click()
        assert saved.value.suggested_filename.endswith(".pdf")
        assert Path(saved.value.path()).read_bytes().startswith(b"%PDF")
        shot(tab.page, "viewer-check-in-390")
        _print(tab.page)  # the PDF's Save button in the table is a control too: not on paper
        assert tab.hosts() == {urlsplit(carry_server.url).netloc}, tab.requests
    finally:
        tab.close()
    assert main(["shares", "--json"]) == 0
    assert "Riverside Clinic" in capsys.readouterr()[0]


def test_a_link_on_a_carry_host_opens_in_the_hosts_viewer_at_phone_width(
    browser: Any, elvina_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Issue 16: the patient's Carry (this process, its own data directory) publishes to `carry host` (another
    process, another data directory); the doctor's phone opens the link from the host's viewer after the passcode,
    the access comes back into the patient's audit log, and after revoking an independent reader gets 404."""
    from support.carry_host import CarryHost, the_one_link_opened_by

    host = CarryHost(tmp_path / "host")
    try:
        for name, value in (("CARRY_RECORD", str(elvina_path)), ("CARRY_PASSPHRASE", PASSPHRASE),
                            ("CARRY_SHARE_PASSCODE", CODE), ("CARRY_DATA_DIR", str(tmp_path / "app-data")),
                            ("CARRY_CONFIG_DIR", str(tmp_path / "app-config")),
                            ("CARRY_HOST_CREDENTIAL", host.add_device("laptop"))):  # fmt: skip
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CARRY_SHARE_PUBLIC_URL", raising=False)
        assert main(["share", "settings", "--host", host.url]) == 0
        capsys.readouterr()
        url, printed = _qr_link(tmp_path, capsys, "--passcode")
        assert url == printed and url.startswith(f"{host.url}/shl/view#shlink:/")
        tab = _Tab(browser, PHONE)
        try:
            tab.open(url, "Dr. Okafor", CODE)
            tab.page.get_by_role("heading", level=1, name="Elvina Lemke").wait_for(timeout=20000)
            assert "Osteoporosis" in tab.page.inner_text("#summary")
            assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            shot(tab.page, "viewer-carry-host-390")
            assert tab.hosts() == {urlsplit(host.url).netloc}, tab.requests
        finally:
            tab.close()
        listed = the_one_link_opened_by(elvina_path, main, capsys)
        assert main(["share", "revoke", listed["link_id"]]) == 0
        manifest_url = f"{host.url}/shl/{listed['link_id']}"
        gone = httpx.post(manifest_url, json={"recipient": "Someone", "passcode": CODE}, timeout=30)
        assert gone.status_code == 404 and gone.json()["reason"] == "revoked"
    finally:
        host.stop()


def test_a_passcode_typed_just_before_open_is_not_lost(
    browser: Any, patient: Path, carry_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Type fast and click at once: the name and passcode keys arrive just before the click, with no wait between."""
    url, _ = _qr_link(tmp_path, capsys, "--passcode")
    tab = _Tab(browser, PHONE)
    try:
        tab.page.goto(url)
        tab.page.get_by_label("Your name").press_sequentially("Dr. Rivera")
        tab.page.get_by_label("Passcode").press_sequentially(CODE)
        tab.page.get_by_role("button", name="Open the summary").click()
        tab.page.get_by_role("heading", level=1, name="Elvina Lemke").wait_for(timeout=20000)
    finally:
        tab.close()
