"""Start-up (issue 20, part 5): `carry --help` and the parser load none of the heavy stacks a command may need.

Each check runs in a fresh interpreter, so whatever another test imported earlier cannot hide or fake an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("fhir.resources", "fhir_core", "pydantic", "flet", "httpx", "sqlcipher3", "cryptography", "jwcrypto")

_PROBE = """
import contextlib, io, json, sys
from app.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {h.split(".")[0] for h in %r})
print(json.dumps({"heavy": heavy, "help": out.getvalue()}))
"""


def _loaded(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,), *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("argv", [("--help",), ("import", "--help"), ("share", "--help"), ("sync", "--help")])
def test_help_loads_no_heavy_module(argv: tuple[str, ...]) -> None:
    got = _loaded(*argv)
    assert "usage: carry" in str(got["help"])
    assert got["heavy"] == [], f"`carry {' '.join(argv)}` imported {got['heavy']}"


def test_a_command_that_opens_the_record_still_loads_it(tmp_path: Path) -> None:
    # The probe itself can see an import: `carry info` on a missing record reaches the record stack.
    got = _loaded("--record", str(tmp_path / "none.carry"), "info")
    assert "sqlcipher3" in got["heavy"]  # type: ignore[operator]
