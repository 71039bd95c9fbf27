"""Reference ranges and the flag a result gets against them.

A result's own referenceRange and interpretation come first: they are the laboratory's. Only when a result
carries neither does Carry fall back to a small table of typical adult ranges for common LOINC codes, and it
says so ("typical adult range", never "your lab's range"). The table holds well-known textbook values for
adults; a clinician's reading always wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .format import format_number, format_unit

__all__ = ["Flag", "RefRange", "TYPICAL_RANGES", "flag_for", "range_from_resource", "range_for"]


@dataclass(frozen=True)
class RefRange:
    low: float | None
    high: float | None
    unit: str | None
    source: str  # "lab" (from the result itself) or "typical" (Carry's table)

    def text(self) -> str:
        unit = format_unit(self.unit)
        if self.low is not None and self.high is not None:
            core = f"{format_number(self.low)}–{format_number(self.high)}"
        elif self.low is not None:
            core = f"{format_number(self.low)} or more"
        elif self.high is not None:
            core = f"below {format_number(self.high)}"
        else:
            return ""
        core = f"{core} {unit}".strip()
        return core if self.source == "lab" else f"{core} (typical adult range)"


@dataclass(frozen=True)
class Flag:
    word: str  # "High", "Low", "Abnormal", "Critical"
    severity: str  # "warn" or "alert"


# LOINC code -> (low, high, unit). Adult values as commonly printed on lab reports.
TYPICAL_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "4548-4": (4.0, 5.6, "%"),  # Hemoglobin A1c
    "2339-0": (70, 99, "mg/dL"),  # Glucose, blood
    "2345-7": (70, 99, "mg/dL"),  # Glucose, serum/plasma
    "38483-4": (0.6, 1.3, "mg/dL"),  # Creatinine, blood
    "2160-0": (0.6, 1.3, "mg/dL"),  # Creatinine, serum/plasma
    "6299-2": (7, 20, "mg/dL"),  # Urea nitrogen, blood
    "3094-0": (7, 20, "mg/dL"),  # Urea nitrogen, serum/plasma
    "49765-1": (8.5, 10.2, "mg/dL"),  # Calcium, blood
    "17861-6": (8.5, 10.2, "mg/dL"),  # Calcium, serum/plasma
    "2947-0": (135, 145, "mmol/L"),  # Sodium, blood
    "2951-2": (135, 145, "mmol/L"),  # Sodium, serum/plasma
    "6298-4": (3.5, 5.1, "mmol/L"),  # Potassium, blood
    "2823-3": (3.5, 5.1, "mmol/L"),  # Potassium, serum/plasma
    "2069-3": (98, 107, "mmol/L"),  # Chloride, blood
    "2075-0": (98, 107, "mmol/L"),  # Chloride, serum/plasma
    "20565-8": (22, 29, "mmol/L"),  # Carbon dioxide, blood
    "2028-9": (22, 29, "mmol/L"),  # Carbon dioxide, serum/plasma
    "33914-3": (60, None, "mL/min/{1.73_m2}"),  # eGFR
    "2093-3": (None, 200, "mg/dL"),  # Cholesterol, total
    "18262-6": (None, 100, "mg/dL"),  # LDL cholesterol (direct)
    "13457-7": (None, 100, "mg/dL"),  # LDL cholesterol (calculated)
    "2085-9": (40, None, "mg/dL"),  # HDL cholesterol
    "2571-8": (None, 150, "mg/dL"),  # Triglycerides
    "718-7": (12.0, 17.5, "g/dL"),  # Hemoglobin
    "4544-3": (36, 52, "%"),  # Hematocrit
    "6690-2": (4.5, 11.0, "10*3/uL"),  # Leukocytes
    "789-8": (4.2, 5.9, "10*6/uL"),  # Erythrocytes
    "777-3": (150, 450, "10*3/uL"),  # Platelets
    "787-2": (80, 100, "fL"),  # MCV
    "8480-6": (90, 130, "mm[Hg]"),  # Systolic blood pressure
    "8462-4": (60, 80, "mm[Hg]"),  # Diastolic blood pressure
    "8867-4": (60, 100, "/min"),  # Heart rate
    "9279-1": (12, 20, "/min"),  # Respiratory rate
    "8310-5": (36.1, 37.2, "Cel"),  # Body temperature
    "2708-6": (95, 100, "%"),  # Oxygen saturation, arterial blood
    "59408-5": (95, 100, "%"),  # Oxygen saturation, pulse oximetry
    "39156-5": (18.5, 25, "kg/m2"),  # Body mass index
}

_INTERPRETATION_WORDS = {
    "H": Flag("High", "warn"),
    "HU": Flag("High", "warn"),
    "HH": Flag("Critical high", "alert"),
    "L": Flag("Low", "warn"),
    "LU": Flag("Low", "warn"),
    "LL": Flag("Critical low", "alert"),
    "A": Flag("Abnormal", "warn"),
    "AA": Flag("Critical", "alert"),
    "POS": Flag("Positive", "warn"),
    "DET": Flag("Detected", "warn"),
    "R": Flag("Resistant", "warn"),
}


def _same_unit(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


def range_for(code: str | None, unit: str | None, resource: dict[str, Any] | None = None) -> RefRange | None:
    """The lab's range from the resource when it has one, else the typical range when the unit matches."""
    if resource is not None:
        own = range_from_resource(resource)
        if own is not None:
            return own
    typical = TYPICAL_RANGES.get(code or "")
    if typical is None or not _same_unit(typical[2], unit):
        return None
    return RefRange(typical[0], typical[1], typical[2], "typical")


def range_from_resource(resource: dict[str, Any]) -> RefRange | None:
    for entry in resource.get("referenceRange", []) or []:
        if not isinstance(entry, dict):
            continue
        low, high = _number(entry.get("low")), _number(entry.get("high"))
        if low is None and high is None:
            continue
        unit = None
        for bound in (entry.get("low"), entry.get("high")):
            if isinstance(bound, dict) and isinstance(bound.get("unit"), str):
                unit = bound["unit"]
        return RefRange(low, high, unit, "lab")
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool):
        return None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def flag_for(value: float | None, ref: RefRange | None, resource: dict[str, Any] | None = None) -> Flag | None:
    """The result's own interpretation when it has one; else the comparison with the range; else None."""
    if resource is not None:
        for concept in resource.get("interpretation", []) or []:
            for coding in (concept.get("coding", []) if isinstance(concept, dict) else []) or []:
                code = coding.get("code") if isinstance(coding, dict) else None
                if isinstance(code, str):
                    if code.upper() in ("N", "NEG", "ND", "S"):
                        return None
                    known = _INTERPRETATION_WORDS.get(code.upper())
                    if known is not None:
                        return known
    if value is None or ref is None:
        return None
    if ref.high is not None and value > ref.high:
        return Flag("High", "warn")
    if ref.low is not None and value < ref.low:
        return Flag("Low", "warn")
    return None
