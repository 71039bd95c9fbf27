"""What of an Apple Health export Carry takes in, and as what: HealthKit type identifiers to LOINC codes, and the
units Apple writes to UCUM (both the metric and the US units an iPhone may be set to).

Facts used: HealthKit type identifiers and export.xml unit strings (Apple developer documentation); LOINC codes
and the US Core vital-signs profiles' UCUM units (US Core 6.1, FHIR R4 vital signs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["BLOOD_PRESSURE", "DIASTOLIC", "SAMPLE_TYPES", "SLEEP", "SLEEP_STAGES", "SYSTOLIC", "SampleType", "Unit"]


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # UCUM
    unit: str  # as shown
    factor: Decimal = Decimal(1)  # Apple's number times this is the value in `code`


@dataclass(frozen=True, slots=True)
class SampleType:
    code: str  # LOINC
    display: str
    category: str  # observation-category code: vital-signs, activity, laboratory
    units: Mapping[str, Unit]  # Apple's unit string -> UCUM
    # LOINC code to use instead for some units (glucose in mmol/L is a different LOINC test than in mg/dL).
    code_by_unit: Mapping[str, tuple[str, str]] | None = None
    # The high-volume types (a watch writes a heart rate every few minutes: millions of samples over years) are
    # kept as one Observation per day: "mean" (with the day's lowest and highest) or "sum", as `per_day_code`.
    per_day: str | None = None
    per_day_code: tuple[str, str] | None = None


_PER_MIN = {"count/min": Unit("/min", "beats/minute")}
_KG = Unit("kg", "kg")

SAMPLE_TYPES: Mapping[str, SampleType] = {
    "HKQuantityTypeIdentifierHeartRate": SampleType("8867-4", "Heart rate", "vital-signs", _PER_MIN, per_day="mean"),
    "HKQuantityTypeIdentifierRestingHeartRate": SampleType("40443-4", "Heart rate --resting", "vital-signs", _PER_MIN),
    "HKQuantityTypeIdentifierStepCount": SampleType(
        "55423-8", "Number of steps", "activity", {"count": Unit("{steps}", "steps")},
        per_day="sum", per_day_code=("41950-7", "Number of steps in 24 hour Measured"),
    ),  # fmt: skip
    "HKQuantityTypeIdentifierBodyMass": SampleType(
        "29463-7",
        "Body weight",
        "vital-signs",
        {"kg": _KG, "g": Unit("g", "g"), "lb": Unit("[lb_av]", "lb"), "st": Unit("[lb_av]", "lb", Decimal(14))},
    ),
    "HKQuantityTypeIdentifierHeight": SampleType(
        "8302-2",
        "Body height",
        "vital-signs",
        {
            "cm": Unit("cm", "cm"),
            "m": Unit("cm", "cm", Decimal(100)),
            "in": Unit("[in_i]", "in"),
            "ft": Unit("[in_i]", "in", Decimal(12)),
        },
    ),
    "HKQuantityTypeIdentifierBodyTemperature": SampleType(
        "8310-5", "Body temperature", "vital-signs", {"degC": Unit("Cel", "°C"), "degF": Unit("[degF]", "°F")}
    ),
    "HKQuantityTypeIdentifierBloodGlucose": SampleType(
        "2339-0",
        "Glucose [Mass/volume] in Blood",
        "laboratory",
        {"mg/dL": Unit("mg/dL", "mg/dL"), "mmol<180.1558800000541>/L": Unit("mmol/L", "mmol/L")},
        code_by_unit={"mmol/L": ("15074-8", "Glucose [Moles/volume] in Blood")},
    ),
    # Apple keeps oxygen saturation as a fraction (0.97) with the unit "%".
    "HKQuantityTypeIdentifierOxygenSaturation": SampleType(
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
        "vital-signs",
        {"%": Unit("%", "%", Decimal(100))},
    ),
}

BLOOD_PRESSURE = "HKCorrelationTypeIdentifierBloodPressure"
SYSTOLIC = "HKQuantityTypeIdentifierBloodPressureSystolic"
DIASTOLIC = "HKQuantityTypeIdentifierBloodPressureDiastolic"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
# Sleep stages that are sleep (in bed and awake are not).
SLEEP_STAGES: Mapping[str, str] = {
    "HKCategoryValueSleepAnalysisAsleep": "asleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleepCore": "core sleep",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep sleep",
    "HKCategoryValueSleepAnalysisAsleepREM": "REM sleep",
}
