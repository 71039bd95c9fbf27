"""Record benchmarks: import rate, open time, dashboard queries, full-text search, import memory.

Run on demand (not part of the test run):  python -m pytest tests/benchmarks/test_record_benchmark.py -s -p no:cacheprovider
Each figure is printed with its ratio to a baseline measured in the same run. Targets (issue 2):
import <= 1.5x (JSON parse + fhir.resources validation of the same data, no storage); FTS p95 < 50 ms and each
dashboard query < 100 ms on 100,000 resources; import memory does not grow with the number of files.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record
from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps, loads, validation_error

SYNTHETIC_SIZE = 100_000
PATIENT_FILES = sorted(p for p in DEMO_PATIENTS.glob("*.json") if "Information" not in p.name)
SUPPORT_FILES = sorted(DEMO_PATIENTS.glob("*Information*.json"))


def _floor(data: bytes) -> float:
    """JSON parse + R4B validation of every resource, storing nothing: the cost no importer can avoid."""
    start = time.perf_counter()
    doc = loads(data)
    entries = [e["resource"] for e in doc["entry"]] if doc.get("resourceType") == "Bundle" else [doc]
    for resource in entries:
        validation_error(resource)
    return time.perf_counter() - start


def _ndjson_floor(data: bytes) -> float:
    start = time.perf_counter()
    for line in data.splitlines():
        if line.strip():
            validation_error(loads(line))
    return time.perf_counter() - start


def synthetic_patient(size: int) -> bytes:
    """One made-up patient of `size` resources, cloned from the demo patients with fresh ids (NDJSON)."""
    unique: dict[tuple[str, str], dict] = {}
    for path in PATIENT_FILES:
        for entry in loads(path.read_bytes())["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] != "Patient":
                unique.setdefault((resource["resourceType"], resource["id"]), resource)
    templates = list(unique.values())
    patient = loads(PATIENT_FILES[0].read_bytes())["entry"][0]["resource"]
    patient = {**patient, "id": "synthetic-1"}
    lines = [dumps(patient)]
    copy = 0
    while len(lines) < size:
        for template in templates:
            if len(lines) >= size:
                break
            text = dumps(template).decode()
            text = text.replace(f'"id":"{template["id"]}"', f'"id":"{template["id"]}-{copy}"', 1)
            lines.append(text.encode())
        copy += 1
    return b"\n".join(lines) + b"\n"


def _report(name: str, value: float, unit: str, baseline: float | None = None, target: str = "") -> None:
    ratio = f"  ratio {value / baseline:.2f}x" if baseline else ""
    print(f"  {name:<52} {value:10.3f} {unit}{ratio}  {target}")


@pytest.fixture(scope="module")
def big_record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, float, float]]:
    folder = tmp_path_factory.mktemp("bench")
    data = synthetic_patient(SYNTHETIC_SIZE)
    source = folder / "synthetic.ndjson"
    source.write_bytes(data)
    floor = _ndjson_floor(data)
    path = folder / "big.carry"
    record = Record.create(path, PASSPHRASE)
    start = time.perf_counter()
    report = record.import_file(source)
    elapsed = time.perf_counter() - start
    assert report.counts.imported == SYNTHETIC_SIZE
    record.close()
    yield path, elapsed, floor


def test_import_rate_of_the_demo_patients(tmp_path: Path) -> None:
    files = SUPPORT_FILES + PATIENT_FILES
    floor = sum(_floor(p.read_bytes()) for p in files)
    record = Record.create(tmp_path / "demo.carry", PASSPHRASE)
    start = time.perf_counter()
    total = 0
    for path in files:
        total += record.import_file(path).counts.imported
    elapsed = time.perf_counter() - start
    record.close()
    print(f"\nImport of the {len(files)} demo files ({total} resources):")
    _report("parse + validate floor", floor, "s")
    _report("carry import", elapsed, "s", floor, "(target <= 1.5x)")
    _report("resources per second", total / elapsed, "/s")


def test_import_of_a_100k_patient(big_record: tuple[Path, float, float]) -> None:
    _, elapsed, floor = big_record
    print(f"\nImport of a synthetic patient of {SYNTHETIC_SIZE} resources (one NDJSON file):")
    _report("parse + validate floor", floor, "s")
    _report("carry import", elapsed, "s", floor, "(target <= 1.5x)")
    _report("resources per second", SYNTHETIC_SIZE / elapsed, "/s")


def test_open_time(big_record: tuple[Path, float, float]) -> None:
    path, _, _ = big_record
    start = time.perf_counter()
    hashlib.pbkdf2_hmac("sha512", PASSPHRASE.encode(), os.urandom(16), 256_000, 64)
    kdf = time.perf_counter() - start
    times = []
    for _ in range(5):
        start = time.perf_counter()
        Record.open(path, PASSPHRASE).close()
        times.append(time.perf_counter() - start)
    print("\nOpen (unlock) a 100k record:")
    _report("PBKDF2-HMAC-SHA512 x 256,000 (the key derivation)", kdf, "s")
    _report("Record.open + close, median of 5", statistics.median(times), "s", kdf)


DASHBOARD = {
    "active problems": ("Condition", "r.status = 'active'", 50),
    "current medications": ("MedicationRequest", "r.status = 'active'", 50),
    "allergies": ("AllergyIntolerance", "", 50),
    "latest immunizations": ("Immunization", "", 10),
    "recent lab results": ("Observation", "r.category = 'laboratory'", 20),
    "recent encounters": ("Encounter", "", 10),
}


def test_dashboard_queries_and_search(big_record: tuple[Path, float, float]) -> None:
    path, _, _ = big_record
    record = Record.open(path, PASSPHRASE)
    try:
        start = time.perf_counter()
        record._query("SELECT count(*) FROM resource WHERE display LIKE '%zz%'")
        scan = time.perf_counter() - start
        print(f"\nQueries on {record.count()} resources (baseline: one full scan of the resource table):")
        _report("full table scan", scan * 1000, "ms")
        for name, (rtype, where, limit) in DASHBOARD.items():
            record.rows(rtype, where=where, limit=limit)  # warm
            runs = []
            for _ in range(10):
                start = time.perf_counter()
                rows = record.rows(rtype, where=where, limit=limit)
                runs.append(time.perf_counter() - start)
            worst = max(runs) * 1000
            _report(f"{name} ({len(rows)} rows), worst of 10", worst, "ms", scan * 1000, "(target < 100 ms)")
            assert rows

        words = sorted({w.lower() for r in record.rows("Condition", limit=200) for w in r.display.split() if len(w) > 4})
        words += ["hemoglobin", "glucose", "bronchitis", "influenza", "pressure", "sinusitis", "smok", "vacc"]
        timings = []
        like_timings = []
        for word in words:
            start = time.perf_counter()
            record.search(word)
            timings.append(time.perf_counter() - start)
        for word in words[:10]:
            start = time.perf_counter()
            record._query("SELECT count(*) FROM resource WHERE display LIKE ?", [f"%{word}%"])
            like_timings.append(time.perf_counter() - start)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        print(f"Full-text search, {len(timings)} queries:")
        _report("LIKE scan of every display text, median (baseline)", statistics.median(like_timings) * 1000, "ms")
        _report("FTS search p95", p95, "ms", statistics.median(like_timings) * 1000, "(target < 50 ms)")
        _report("FTS search median", statistics.median(timings) * 1000, "ms")
    finally:
        record.close()


# VmHWM is this process's own peak (ru_maxrss would carry over the peak of the parent that forked it).
_MEASURE = """
import sys
from app.record import Record
record = Record.open(sys.argv[1], sys.argv[2])
for name in sys.argv[3:]:
    record.import_file(name)
record.close()
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def test_import_memory_does_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    # The page cache is bounded (64 MiB); once it is full, more files must not mean more memory.
    data = synthetic_patient(2_000).splitlines()
    files = []
    for index in range(24):
        part = tmp_path / f"part-{index}.ndjson"
        lines = [json.loads(line) for line in data]
        part.write_text("\n".join(json.dumps({**res, "id": f"{res['id']}-f{index}"}) for res in lines) + "\n")
        files.append(str(part))

    def peak(names: list[str]) -> int:
        path = tmp_path / f"m{len(names)}.carry"
        Record.create(path, PASSPHRASE).close()
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path), PASSPHRASE, *names], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    peaks = {n: peak(files[:n]) for n in (1, 12, 24)}
    print("\nPeak memory (VmHWM) of one process importing files of 2,000 resources each:")
    for n, kib in peaks.items():
        _report(f"{n} file(s)", kib / 1024, "MiB", peaks[12] / 1024 if n == 24 else None, "(24 vs 12: target about 1x)" if n == 24 else "")
    assert peaks[24] < peaks[12] * 1.15
    assert peaks[24] - peaks[1] < 64 * 1024 * 1.25  # growth bounded by the page cache
