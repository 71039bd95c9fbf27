"""Validation benchmark: the CPU time of validating what a sync stores (issue 20 item 4), with the fast path
(sync.fhir.fastpath) against the models alone, the baseline measured in the same run.

Two sets: the sync benchmark's synthetic 20,000-resource patient and every resource of the demo patients (a real
mix of types and shapes), as compact JSON. Carry's figure is `_validate_raw` over them (what a validation worker
runs on a chunk); the baseline is what validation did before the fast path: the rules, then `model_validate` on
every resource. Process CPU seconds, one interpreter; the baseline is repeated until two runs agree within 10 %
(tests/benchmarks/steady.py), and the load is printed before and after. Also printed: the first pass of the fast
path in a fresh state (its tables and the remembered primitive verdicts built as it goes), which every worker pays
once, and how many resources still went to the models.

Run with `python -m pytest tests/benchmarks/test_validation_benchmark.py -s -p no:cacheprovider`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steady import clocked, print_load, ratio_text, require_steady, steady
from test_sync_benchmark import synthetic_patient

from sync.assets import DEMO_PATIENTS
from sync.fhir import fastpath, parse_document
from sync.fhir.parse import _decoder, _model, _validate_raw, full_validations
from sync.fhir.rules import rule_error

TARGET = 0.35  # the fast path's CPU time at most this share of the models'


def _models_only(resource: dict[str, Any]) -> None:
    """What validation_error did before the fast path (the reason's wording aside): the rules, then the model."""
    if rule_error(resource) is None and (model := _model(resource["resourceType"])) is not None:
        try:
            model.model_validate(resource)
        except ValueError:
            pass


def _cpu(fn: Callable[[], Any]) -> Callable[[], float]:
    return clocked(fn, time.process_time)


def _compare(label: str, raws: list[bytes]) -> float:
    def fast() -> None:
        _validate_raw(raws)  # what a validation worker runs on a chunk

    def baseline() -> None:
        for raw in raws:
            _models_only(_decoder.decode(raw))

    print_load("before")
    fastpath._table.cache_clear()
    fastpath._primitive.cache_clear()
    before = full_validations()
    first = _cpu(fast)()
    to_models = full_validations() - before
    models = steady("models only", _cpu(baseline))
    carry = min(_cpu(fast)() for _ in range(3))
    print(
        f"\n{label}: {len(raws)} resources\n"
        f"  models only (rules + model_validate): {models.value or min(models.runs):.3f} s CPU (runs {models.runs})\n"
        f"  with the fast path:                   {carry:.3f} s CPU -> {ratio_text(carry, models)}"
        f" (target <= {TARGET}x)\n"
        f"  the fast path's first pass (tables and verdicts built): {first:.3f} s CPU; "
        f"validated by the models: {to_models} of {len(raws)}"
    )
    print_load("after")
    require_steady(models)
    assert models.value is not None
    return carry / models.value


def test_validation_benchmark_synthetic_20000(tmp_path: Path) -> None:
    document = parse_document(synthetic_patient(tmp_path / "synthetic.json").read_bytes(), validate=False)
    ratio = _compare("Synthetic patient (20,000 Observations)", [res.raw for res in document.resources])
    assert ratio <= TARGET


def test_validation_benchmark_demo_patients() -> None:
    raws = [
        res.raw
        for path in sorted(DEMO_PATIENTS.glob("*.json"))
        for res in parse_document(path.read_bytes(), validate=False).resources
    ]
    ratio = _compare("Demo patients (every resource)", raws)
    assert ratio <= TARGET
