"""The wheel: built from this checkout, installed into a virtual environment outside it, and the demo journey run
from there (`carry init`, `carry sandbox`, connect, sync, `carry providers`, `carry share`).

It builds without build isolation and installs with --no-deps into a venv that sees this interpreter's packages
(a .pth file lists their folders after the venv's own), so it downloads nothing, and works whether the tests run in
a venv or not. The test checks that what runs is the copy in the venv: every module and data file the journey reads
resolves under the venv, and the commands run with the working directory outside the checkout.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from support.portal import log_in

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
# What the build needs; the wheel is built from a copy so that the checkout gains no build/ or *.egg-info.
BUILD_INPUTS = ("pyproject.toml", "README.md")
PACKAGES = ("app", "sync", "assets")
PASSPHRASE = "correct horse battery staple"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    home: Path  # the working directory and every Carry directory, outside the checkout

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARRY_") and k != "PYTHONPATH"}
        return {
            **env, "HOME": str(self.home), "CARRY_PASSPHRASE": PASSPHRASE, "CARRY_NO_BROWSER": "1",
            "CARRY_RECORD": str(self.home / "record.carry"), "CARRY_CONFIG_DIR": str(self.home / "config"),
            "CARRY_CACHE_DIR": str(self.home / "cache"), "CARRY_DATA_DIR": str(self.home / "data"),
        }  # fmt: skip

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.venv / "bin" / "carry"), *args], cwd=self.home, env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def carry(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "carry"), *args], cwd=self.home, env=self.env(),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


def _run(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def _package_folders() -> list[str]:
    """The folders this interpreter imports installed packages from (never the checkout itself)."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, source / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=_SKIP)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", work / "dist",
         source, cwd=work)  # fmt: skip
    (wheel,) = (work / "dist").glob("carry-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    # Carry's dependencies (and pip) from this interpreter's folders, listed after the venv's own, so Carry itself
    # comes from the venv. (--system-site-packages would reach the base interpreter's, not a venv's we run in.)
    (inside,) = (venv / "lib").glob("python3*/site-packages")
    (inside / "dependencies.pth").write_text("".join(f"{p}\n" for p in _package_folders()), encoding="utf-8")
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=work)
    home = work / "home"
    home.mkdir()
    return Installed(venv, wheel, home)


def test_the_wheel_holds_every_file_of_the_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        inside = set(wheel.namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for name in PACKAGES
        for path in (ROOT / name).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert wanted - inside == set(), "files of the checkout's packages missing from the wheel"
    assert {"assets/vendor-quirks.json", "assets/directory/providers.json", "assets/directory/sources.json"} <= inside
    assert any(n.startswith("assets/demo-patients/Elvina_Lemke_") for n in inside)


def test_the_installed_carry_runs_from_the_venv_not_the_checkout(installed: Installed) -> None:
    probe = (
        "import json, app, sync, assets, app.cli\n"
        "from sync.assets import ASSETS, DEMO_PATIENTS\n"
        "from sync.pull.quirks import QUIRKS_FILE\n"
        "from sync.directory import DEFAULT_SOURCES_FILE, SHIPPED_DIRECTORY\n"
        "print(json.dumps([m.__file__ for m in (app, sync, assets, app.cli)]"
        " + [str(p) for p in (ASSETS, DEMO_PATIENTS, QUIRKS_FILE, DEFAULT_SOURCES_FILE, SHIPPED_DIRECTORY)]))\n"
    )
    done = subprocess.run([str(installed.python), "-c", probe], cwd=installed.home, env=installed.env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    site = installed.venv.resolve()
    for where in json.loads(done.stdout):
        path = Path(where).resolve()
        assert path.is_relative_to(site) and path.exists(), f"{where} is not inside the venv"


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))
    into.put(None)  # the process closed its output: it ended


@pytest.fixture
def sandbox(installed: Installed) -> Iterator[str]:
    """`carry sandbox` from the venv, on a free port; yields its FHIR base and stops it afterwards."""
    process = installed.popen("sandbox", "--port", "0")
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        first = lines.get(timeout=60)
        base = re.fullmatch(r"base_url (http://127\.0\.0\.1:\d+/fhir)", first or "")
        assert base is not None, f"carry sandbox did not start: {first!r}"
        yield base.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_demo_journey_runs_from_the_installed_wheel(installed: Installed, sandbox: str) -> None:
    made = installed.carry("init")
    assert made.returncode == 0, made.stderr
    assert (installed.home / "record.carry").is_file()

    connecting = installed.popen("connect", sandbox, "--no-browser")
    assert connecting.stdout is not None
    url = next((line.strip() for line in connecting.stdout if line.startswith("http")), "")
    assert url.startswith(sandbox.rsplit("/fhir", 1)[0] + "/auth/authorize?"), url
    httpx.get(log_in(url, "elvina", "elvina-demo"), timeout=10)
    out, err = connecting.communicate(timeout=60)
    assert connecting.returncode == 0, err
    assert "Connected Carry Demo Hospital" in out  # the vendor registry knew the sandbox: no client id was needed

    synced = installed.carry("sync")
    assert synced.returncode == 0, synced.stderr
    assert "complete (full)" in synced.stdout and "Observation" in synced.stdout

    found = installed.carry("providers", "medicaid", "--json")  # the shipped directory seed
    assert found.returncode == 0, found.stderr
    assert any(p["source"] == "lantern-medicaid-state" for p in json.loads(found.stdout))

    planned = installed.carry("share", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert re.search(r"^\s+\[x\] \S+ ", planned.stdout, re.MULTILINE), planned.stdout

    pdf = installed.home / "summary.pdf"
    shared = installed.carry("share", "--pdf", str(pdf))
    assert shared.returncode == 0, shared.stderr
    assert shared.stdout.startswith("shlink:/") or "#shlink:/" in shared.stdout
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_mode & 0o077 == 0
    page: Any = pypdf.PdfReader(pdf).pages[0]  # pypdf's objects are dictionaries typed as PdfObject
    fonts = {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in f for f in fonts), fonts  # the font shipped in the wheel
