"""Helpers of the share tests (a module of its own, so test files can import them by a unique name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.share import SQLiteShareHostStore

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Demo:
    patient: dict[str, Any]
    by_type: dict[str, list[dict[str, Any]]]

    def sections(self) -> dict[str, list[dict[str, Any]]]:
        t = self.by_type
        labs = [o for o in t["Observation"] if _category(o) == "laboratory"]
        return {
            "problems": [c for c in t["Condition"] if c["clinicalStatus"]["coding"][0]["code"] == "active"],
            "allergies": t["AllergyIntolerance"],
            "medications": t["MedicationRequest"][:4],
            "immunizations": t["Immunization"][:4],
            "results": labs[-6:] + t["DiagnosticReport"][-1:],
            "procedures": t["Procedure"][:3],
        }

    def supporting(self) -> list[dict[str, Any]]:
        return self.by_type["Observation"] + self.by_type["Practitioner"] + self.by_type["Organization"]


def _category(resource: dict[str, Any]) -> str | None:
    for concept in resource.get("category") or []:
        for coding in concept.get("coding") or []:
            return coding.get("code")
    return None


@dataclass
class Host:
    base: str  # public base of the share routes, e.g. http://127.0.0.1:PORT/shl
    store: SQLiteShareHostStore
    store_path: Path
    clock: Clock
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]
