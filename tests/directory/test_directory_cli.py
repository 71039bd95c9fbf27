"""`carry providers`: text and --json output, filters, exit codes (the shipped data and the built-in sandboxes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRY_CACHE_DIR", str(tmp_path / "cache"))


def test_search_prints_name_place_vendor_and_base(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "iowa", "medicaid"]) == 0
    out = capsys.readouterr().out
    assert out == "Iowa Medicaid — IA — State Medicaid agency\n    https://api.iowafhir.com/r4\n"


def test_the_sandboxes_are_always_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Carry demo hospital (sandbox) — Carry sandbox",
        "    http://127.0.0.1:8551/fhir  (start it with `carry sandbox`)",
        "SMART Health IT public sandbox — SMART Health IT",
        "    https://launch.smarthealthit.org/v/r4/fhir  (a public test server with synthetic patients; no account needed)",
    ]
    assert "providers in the directory" in err and "carry providers --refresh" in err


def test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "sandbox", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [p["fhir_base"] for p in found] == ["http://127.0.0.1:8551/fhir", "https://launch.smarthealthit.org/v/r4/fhir"]
    assert set(found[0]) == {
        "name", "city", "state", "zip", "vendor", "vendor_key", "fhir_base", "aliases", "locations", "source", "note"
    }  # fmt: skip
    assert found[0]["vendor_key"] == "sandbox" and found[0]["note"] == "start it with `carry sandbox`"


def test_state_and_vendor_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "medicaid", "--state", "ma", "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == ["Massachusetts Medicaid"]
    assert main(["providers", "--vendor", "sandbox", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_no_match_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "qqqqq"]) == 0
    assert capsys.readouterr().out == "No provider matches that; try fewer or shorter words.\n"
    assert main(["providers", "qqqqq", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["providers", "--state", "Atlantis"], "'Atlantis' is not a US state"),
        (["providers", "--limit", "0"], "--limit must be 1 or more"),
        (["providers", "--limit", "many"], "invalid int value"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = int(exc.code or 0)
    assert status == 2
    assert message in capsys.readouterr().err


def test_a_broken_cache_warns_and_still_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "cache" / "directory" / "index.json"
    index.parent.mkdir(parents=True)
    index.write_text("{not json")
    assert main(["providers", "iowa"]) == 0
    out, err = capsys.readouterr()
    assert "Iowa Medicaid" in out and "carry: " in err and "carry providers --refresh" in err


def test_the_installed_command(tmp_path: Path) -> None:
    env = os.environ | {"CARRY_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "providers", "medicaid", "--state", "IA", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [p["name"] for p in json.loads(done.stdout)] == ["Iowa Medicaid"]
