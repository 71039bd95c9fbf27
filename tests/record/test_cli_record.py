"""The `carry` command over the record: init, import, export, list, search, info, passphrase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.records import ELVINA, KARENA, PASSPHRASE

from app.cli import main
from app.record import Record

ROW_KEYS = {
    "source", "resourceType", "id", "date", "category", "code", "status", "display", "valid", "invalid_reason",
    "checked", "first_seen", "last_seen",
}  # fmt: skip


def carry(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"CARRY_RECORD": str(tmp_path / "r.carry"), "CARRY_PASSPHRASE": PASSPHRASE}


@pytest.fixture
def filled(env: dict[str, str], demo_dir: Path) -> dict[str, str]:
    assert carry("init", env=env).returncode == 0
    done = carry("import", str(demo_dir / ELVINA), env=env)
    assert done.returncode == 0, done.stderr
    return env


def test_init_creates_an_encrypted_record(env: dict[str, str]) -> None:
    done = carry("init", env=env)
    assert done.returncode == 0 and "Created an encrypted record" in done.stdout
    Record.open(env["CARRY_RECORD"], PASSPHRASE).close()
    again = carry("init", env=env)
    assert again.returncode == 1 and "already a record" in again.stderr


def test_init_refuses_a_short_passphrase(env: dict[str, str]) -> None:
    done = carry("init", env={**env, "CARRY_PASSPHRASE": "short"})
    assert done.returncode == 1 and "at least 8 characters" in done.stderr
    assert not Path(env["CARRY_RECORD"]).exists()


def test_import_reports_counts_and_reimport_is_unchanged(filled: dict[str, str], demo_dir: Path) -> None:
    done = carry("import", "--json", str(demo_dir / ELVINA), env=filled)
    assert done.returncode == 0
    [report] = json.loads(done.stdout)
    assert report["file"] == ELVINA and report["imported"] == 0 and report["updated"] == 0
    assert report["unchanged"] > 300
    assert set(report) == {"file", "source", "imported", "updated", "unchanged", "invalid", "per_type", "invalid_resources"}


def test_list_is_newest_first_and_filters_by_type(filled: dict[str, str]) -> None:
    done = carry("list", "Condition", "--json", env=filled)
    assert done.returncode == 0
    rows = json.loads(done.stdout)
    assert rows and all(set(r) == ROW_KEYS | {"noted"} for r in rows)  # list says which items carry a note
    assert {r["resourceType"] for r in rows} == {"Condition"}
    dates = [r["date"] for r in rows if r["date"]]
    assert dates == sorted(dates, reverse=True)
    text = carry("list", "Condition", env=filled).stdout
    assert "Osteoporosis (disorder) (active)" in text


def test_search_finds_a_condition_by_a_word_of_its_display(filled: dict[str, str]) -> None:
    done = carry("search", "osteoporosis", "--json", env=filled)
    assert done.returncode == 0
    rows = json.loads(done.stdout)
    assert rows[0]["resourceType"] == "Condition" and "Osteoporosis" in rows[0]["display"]
    assert json.loads(carry("search", "osteopor", "--json", env=filled).stdout)  # the last word is a prefix
    assert json.loads(carry("search", "--json", "knee", "osteoarth", env=filled).stdout)  # several words
    assert carry("search", "zzzzyxq", env=filled).stdout.strip() == "Nothing found."


@pytest.mark.parametrize("query", ['"', "AND", "NEAR(", "*", "-knee", "a OR", "col:umn", "'; DROP TABLE resource; --"])
def test_search_takes_any_text_without_error(filled: dict[str, str], query: str) -> None:
    done = carry("search", "--", query, env=filled)
    assert done.returncode == 0, done.stderr


def test_info_json_shape(filled: dict[str, str]) -> None:
    info = json.loads(carry("info", "--json", env=filled).stdout)
    assert set(info) == {"path", "schema_version", "size_bytes", "resources", "invalid", "counts", "sources"}
    assert info["path"] == filled["CARRY_RECORD"]
    assert info["counts"]["Patient"] == 1 and info["resources"] == sum(info["counts"].values())
    assert set(info["sources"][0]) == {"id", "kind", "name", "base_url", "resources", "last_run"}


def test_export_writes_a_collection_bundle(filled: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    done = carry("export", "--out", str(out), env=filled)
    assert done.returncode == 0 and "not encrypted" in done.stderr
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "collection" and len(bundle["entry"]) > 300
    assert not list(tmp_path.glob(".export.json.*")) and out.stat().st_mode & 0o777 == 0o600
    to_stdout = carry("export", "--type", "Patient", env=filled)
    assert [e["resource"]["resourceType"] for e in json.loads(to_stdout.stdout)["entry"]] == ["Patient"]


def test_invalid_resources_are_listed_as_such(env: dict[str, str], tmp_path: Path) -> None:
    carry("init", env=env)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "id": "bad", "status": 5, "code": {"text": "Weight"}}},
        {"resource": {"resourceType": "Patient", "id": "p1"}},
    ]}))  # fmt: skip
    done = carry("import", str(mixed), env=env)
    assert done.returncode == 0 and "1 failed validation" in done.stdout and "invalid Observation/bad" in done.stdout
    listed = carry("list", env=env).stdout
    assert "[INVALID: status" in listed
    rows = json.loads(carry("list", "--invalid", "--json", env=env).stdout)
    assert [(r["id"], r["valid"]) for r in rows] == [("bad", False)]
    assert rows[0]["invalid_reason"].startswith("status")


def test_wrong_passphrase_is_one_line_and_exit_1(filled: dict[str, str]) -> None:
    done = carry("info", env={**filled, "CARRY_PASSPHRASE": "wrong wrong wrong"})
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "Wrong passphrase" in done.stderr
    assert "Traceback" not in done.stderr and "ERROR CORE" not in done.stderr


def test_no_passphrase_and_no_terminal_is_a_clear_error(filled: dict[str, str]) -> None:
    env = {k: v for k, v in filled.items() if k != "CARRY_PASSPHRASE"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "info"],
        env={k: v for k, v in {**os.environ, **env}.items() if k != "CARRY_PASSPHRASE"},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1 and "CARRY_PASSPHRASE" in done.stderr


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    assert carry("frobnicate", env=env).returncode == 2
    assert carry("import", env=env).returncode == 2  # no files
    assert carry("info", "--passphrase", "x", env=env).returncode == 2  # never from an argument


def test_missing_record_says_how_to_make_one(env: dict[str, str]) -> None:
    done = carry("list", env=env)
    assert done.returncode == 1 and "carry init" in done.stderr


def test_passphrase_change(filled: dict[str, str]) -> None:
    done = carry("passphrase", env={**filled, "CARRY_NEW_PASSPHRASE": "another good passphrase"})
    assert done.returncode == 0
    assert carry("info", env=filled).returncode == 1
    assert carry("info", env={**filled, "CARRY_PASSPHRASE": "another good passphrase"}).returncode == 0


def test_record_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CARRY_RECORD")
    monkeypatch.delenv("CARRY_DATA_DIR")
    assert main(["init"]) == 0
    assert (tmp_path / "xdg" / "carry" / "record.carry").exists()
    monkeypatch.setenv("CARRY_DATA_DIR", str(tmp_path / "data-dir"))  # moves the record with the rest of the data
    assert main(["init"]) == 0 and (tmp_path / "data-dir" / "record.carry").exists()
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "env.carry"))
    assert main(["init"]) == 0 and (tmp_path / "env.carry").exists()
    assert main(["--record", str(tmp_path / "flag.carry"), "init"]) == 0
    assert main(["init", "--record", str(tmp_path / "flag2.carry")]) == 0
    assert (tmp_path / "flag.carry").exists() and (tmp_path / "flag2.carry").exists()


def test_multiple_files_and_sources(env: dict[str, str], demo_dir: Path) -> None:
    carry("init", env=env)
    done = carry("import", "--source", "Clinic A", str(demo_dir / KARENA), str(demo_dir / ELVINA), env=env)
    assert done.returncode == 0
    info = json.loads(carry("info", "--json", env=env).stdout)
    assert [s["name"] for s in info["sources"]] == ["Clinic A"] and info["counts"]["Patient"] == 2
