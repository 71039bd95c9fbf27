"""`carry share`, `carry shares`, `carry share revoke` and `carry open`, end to end: the link made by `carry share`
is served by the real `carry serve` and opened by `carry open`, as a doctor's Carry would."""

from __future__ import annotations

import io
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from shares_support import CarryServer

from app.cli import main
from app.record import Record
from support.records import PASSPHRASE
from sync.share import check_ips, decode_link


@pytest.fixture
def patient(elvina_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    return elvina_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _pdf_text(path: Path) -> str:
    return "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_share_serve_open_shares_revoke(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    carry_server.use(monkeypatch)
    pdf, fhir, qr = tmp_path / "summary.pdf", tmp_path / "summary.json", tmp_path / "qr.png"
    code, out, err = _run(capsys, "share", "--label", "Elvina for Dr Rivera", "--expires", "30d", "--pdf", str(pdf),
                          "--json", str(fhir), "--qr", str(qr))  # fmt: skip
    assert code == 0, err
    link = out.strip()
    assert link.startswith(f"{carry_server.url}/shl/view#shlink:/")  # a camera opens Carry's own viewer
    assert decode_link(link).url.startswith(f"{carry_server.url}/shl/")
    assert "Only devices that can reach this computer can open this link" in err
    assert "5 active problems, 1 allergy or intolerance" in err and "not encrypted" in err
    bundle = json.loads(fhir.read_bytes())
    assert check_ips(bundle) == []
    text = _pdf_text(pdf)
    assert "Osteoporosis" in text and "Prediabetes" in text and link in "".join(text.split())
    assert qr.read_bytes().startswith(b"\x89PNG") and (tmp_path / "qr.svg").read_text().lstrip().startswith("<svg")
    for path in (pdf, fhir, qr):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # The doctor's side: another machine's Carry, with no record of its own needed to look.
    monkeypatch.delenv("CARRY_PASSPHRASE")
    code, out, err = _run(capsys, "open", link, "--recipient", "Dr Rivera")
    assert code == 0, err
    assert "Shared summary: Elvina for Dr Rivera" in out and "Osteoporosis (disorder)" in out
    assert "Shellfish allergy" in out and "Alendronic acid 10 MG Oral Tablet" in out
    assert "Osteoporosis (disorder) (" in out and "from Imported files)" in out  # where each item came from

    # The patient's next command merges the access; `carry shares` shows it.
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    code, out, err = _run(capsys, "shares", "--json")
    assert code == 0
    assert "was opened by Dr Rivera at " in err
    (entry,) = json.loads(out)
    assert entry["label"] == "Elvina for Dr Rivera" and entry["status"] == "active"
    assert [a["recipient"] for a in entry["accesses"]] == ["Dr Rivera"]
    assert entry["accesses"][0]["text"].startswith("opened by Dr Rivera at ")
    code, out, _ = _run(capsys, "shares")
    assert "opened by Dr Rivera at" in out and entry["id"] in out

    code, out, err = _run(capsys, "share", "revoke", entry["id"])
    assert code == 0 and "no longer opens" in out
    code, out, err = _run(capsys, "open", link, "--recipient", "Dr Rivera")
    assert code == 1 and "does not work any more" in err
    code, out, _ = _run(capsys, "shares", "--json")
    assert json.loads(out)[0]["status"] == "revoked"
    with Record.open(patient, PASSPHRASE) as record:
        actions = {e["action"] for e in record.audit_log()}
    assert {"share-create", "share-opened", "share-revoke"} <= actions


def test_passcode_comes_from_the_environment_never_argv(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    carry_server.use(monkeypatch)
    code, _, err = _run(capsys, "share", "--passcode")
    assert code == 1 and "CARRY_SHARE_PASSCODE" in err  # no terminal to ask in, and no variable
    code, out, err = _run(capsys, "share", "--passcode", "tulip-42")  # a value would sit in the process list
    assert code == 2 and "takes no value" in err and "tulip-42" not in err
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", "tulip-42")
    code, out, err = _run(capsys, "share", "--sections", "problems")
    assert code == 0 and "needs the passcode" not in err  # the variable alone does not make a passcode link
    code, out, err = _run(capsys, "share", "--sections", "problems", "--passcode")
    assert code == 0 and "needs the passcode" in err
    link = out.strip()
    assert "tulip-42" not in out + err
    code, out, err = _run(capsys, "open", link, "--recipient", "Dr Rivera")
    assert code == 1 and "needs the passcode" in err
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", "wrong")
    code, out, err = _run(capsys, "open", link, "--passcode", "--recipient", "Mallory")
    assert code == 1 and "4 attempts left" in err
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", "tulip-42")
    code, out, err = _run(capsys, "open", link, "--passcode", "--recipient", "Dr Rivera", "--json")
    assert code == 0
    sections = json.loads(out)["sections"]
    assert [s["title"] for s in sections][:3] == ["Active problems", "Allergies and intolerances", "Medications"]
    assert {row["source"] for s in sections for row in s["rows"]} == {"Imported files"}
    code, out, err = _run(capsys, "shares")
    assert "wrong passcode from Mallory at" in out and "opened by Dr Rivera at" in out


def test_open_and_keep_as_a_shared_source(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    carry_server.use(monkeypatch)
    code, out, _ = _run(capsys, "share", "--label", "Elvina")
    link = out.strip()
    doctor = tmp_path / "doctor.carry"
    Record.create(doctor, PASSPHRASE).close()
    code, out, err = _run(capsys, "--record", str(doctor), "open", link, "--recipient", "Dr Rivera", "--keep")
    assert code == 0, err
    assert "read-only source 'Shared: Elvina'" in err
    code, out, _ = _run(capsys, "--record", str(doctor), "info", "--json")
    sources = {s["name"]: s for s in json.loads(out)["sources"]}
    assert sources["Shared: Elvina"]["kind"] == "shared" and sources["Shared: Elvina"]["resources"] > 10


def test_dry_run_lists_items_and_selection_options_apply(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    carry_server.use(monkeypatch)
    code, out, _ = _run(capsys, "share", "--dry-run", "--json", "-")
    items = json.loads(out)
    osteo = next(i for i in items if i["display"] == "Osteoporosis (disorder)")
    bronchitis = next(i for i in items if "bronchitis" in i["display"])
    assert osteo["picked"] and not bronchitis["picked"]
    code, out, _ = _run(capsys, "share", "--dry-run", "--json", "-", "--sections", "problems,past-problems",
                        "--leave-out", osteo["id"], "--add", bronchitis["id"])  # fmt: skip
    picked = {i["display"] for i in json.loads(out) if i["picked"]}
    assert "Osteoporosis (disorder)" not in picked and bronchitis["display"] in picked
    assert {i["section"] for i in json.loads(out) if i["picked"]} == {"problems", "past-problems"}
    code, out, _ = _run(capsys, "share", "--dry-run")
    assert "problems:" in out and f"[x] {osteo['id']}" in out


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (["share", "--expires", "5x"], "not an expiry", 1),
        (["share", "--sections", "gossip"], "not a summary section", 1),
        (["share", "--leave-out", "nothing-like-it"], "not an item", 1),
        (["share", "revoke", "zzzzzzzz"], "no shared link", 1),
        (["share", "revoke"], "Say which link", 2),
        (["share", "frobnicate"], "is not a command", 2),
        (["open", "https://example.org/not-a-link", "--recipient", "Dr Rivera"], "not a SMART Health Link", 1),
        (["open", "shlink:/bm90LWpzb24", "--recipient", "Dr Rivera"], "damaged", 1),
    ],
)
def test_bad_input_gets_a_sentence_and_shares_nothing(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str, status: int,
) -> None:  # fmt: skip
    carry_server.use(monkeypatch)
    code, out, err = _run(capsys, *argv)
    assert code == status and message in err and out == ""
    code, out, _ = _run(capsys, "shares", "--json")
    assert json.loads(out) == []


def test_share_settings_change_where_links_point(
    patient: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "share", "settings")
    assert code == 0 and "http://127.0.0.1:8550/shl" in out
    assert "Viewer: http://127.0.0.1:8550/shl/view" in out and "a clinic's scanner will refuse it" in out
    code, out, err = _run(capsys, "share", "settings", "--public-url", "http://carry.home")
    assert code == 1 and "https" in err
    code, out, _ = _run(capsys, "share", "settings", "--public-url", "https://share.example.org",
                        "--viewer-url", "https://viewer.example/")  # fmt: skip
    assert code == 0 and "https://share.example.org/shl" in out and "https://viewer.example/" in out
    code, out, err = _run(capsys, "share", "--sections", "allergies")
    assert code == 0 and out.startswith("https://viewer.example/#shlink:/")
    assert decode_link(out.strip()).url.startswith("https://share.example.org/shl/")
    assert "Only devices that can reach this computer" not in err  # a public https address: no warning
    # 'none' makes plain links; '' returns to Carry's own viewer on the share host.
    code, out, _ = _run(capsys, "share", "settings", "--viewer-url", "none")
    assert code == 0 and "Viewer: none" in out
    code, out, _ = _run(capsys, "share", "--sections", "allergies")
    assert code == 0 and out.startswith("shlink:/")
    code, out, _ = _run(capsys, "share", "settings", "--viewer-url", "")
    assert code == 0 and "Viewer: https://share.example.org/shl/view (Carry’s own)" in out
    code, out, _ = _run(capsys, "share", "--sections", "allergies")
    assert code == 0 and out.startswith("https://share.example.org/shl/view#shlink:/")


def test_a_check_in_link_refuses_a_passcode_and_never_expiring(
    patient: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    carry_server.use(monkeypatch)
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", "4711")
    code, _, err = _run(capsys, "share", "--ktc", "--passcode")
    assert code != 0 and "cannot have a passcode" in err
    code, _, err = _run(capsys, "share", "--ktc", "--expires", "never")
    assert code != 0 and "must expire" in err
    code, out, _ = _run(capsys, "shares", "--json")
    assert code == 0 and json.loads(out) == []  # nothing was shared
    code, out, err = _run(capsys, "share", "--ktc")
    assert code == 0 and decode_link(out.strip()).flag == "U"
    expires = decode_link(out.strip()).exp
    assert expires is not None and 14 * 60 <= expires - time.time() <= 15 * 60


@pytest.mark.parametrize(("public_url", "warned"), [(None, True), ("https://share.example.org", False)],
                         ids=["this-computer", "public"])  # fmt: skip
def test_serve_says_who_can_open_the_links_it_points_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, public_url: str | None, warned: bool
) -> None:
    """`carry serve` names where shared links point and, for an address only this computer's network reaches,
    says at once that a clinic's scanner will refuse them (as `carry share` does)."""
    if public_url is None:
        monkeypatch.delenv("CARRY_SHARE_PUBLIC_URL", raising=False)
    else:
        monkeypatch.setenv("CARRY_SHARE_PUBLIC_URL", public_url)
    server = CarryServer(tmp_path)
    try:
        # The port listens before the lines are printed; an answered request means the server runs after them.
        assert httpx.get(f"{server.url}/shl/view", timeout=20).status_code == 200
    finally:
        server.stop()
    assert server.proc.stdout is not None
    lines = server.proc.stdout.read().decode().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Shared links point at"))
    assert lines[at] == f"Shared links point at {public_url or server.url}/shl"
    following = lines[at + 1] if at + 1 < len(lines) else ""
    assert following.startswith("Only devices that can reach this computer can open") is warned, lines
