"""Short names for tests and measurements, the way a patient and a lab report say them ("Hemoglobin A1c"), in
place of LOINC's long formal names ("Hemoglobin A1c/Hemoglobin.total in Blood"); the full name stays on the
item's page.

Common LOINC codes have a name here, after LOINC's own short and consumer names; any other name is cut
where LOINC's formal name adds what a patient does not need: the property in brackets ("[Mass/volume]"), the
specimen ("in Serum or Plasma"), the method ("by Automated count") and a ratio's denominator ("/Hemoglobin.total").
"""

from __future__ import annotations

import re

from .format import readable_measurements, tidy_name

__all__ = ["RESULT_TYPES", "SHORT_TEST_NAMES", "short_result_text", "short_test_name"]

# LOINC code -> the name a patient reads.
SHORT_TEST_NAMES: dict[str, str] = {
    # Diabetes, kidneys and salts (basic metabolic panel)
    "4548-4": "Hemoglobin A1c",
    "17856-6": "Hemoglobin A1c",
    "2339-0": "Glucose",
    "2345-7": "Glucose",
    "6299-2": "Urea nitrogen (BUN)",
    "3094-0": "Urea nitrogen (BUN)",
    "38483-4": "Creatinine",
    "2160-0": "Creatinine",
    "33914-3": "eGFR (kidney function)",
    "62238-1": "eGFR (kidney function)",
    "49765-1": "Calcium",
    "17861-6": "Calcium",
    "2947-0": "Sodium",
    "2951-2": "Sodium",
    "6298-4": "Potassium",
    "2823-3": "Potassium",
    "2069-3": "Chloride",
    "2075-0": "Chloride",
    "20565-8": "Carbon dioxide (CO2)",
    "2028-9": "Carbon dioxide (CO2)",
    # Cholesterol (lipid panel)
    "2093-3": "Total cholesterol",
    "2571-8": "Triglycerides",
    "18262-6": "LDL cholesterol",
    "13457-7": "LDL cholesterol",
    "2089-1": "LDL cholesterol",
    "2085-9": "HDL cholesterol",
    # Liver (hepatic panel)
    "2885-2": "Total protein",
    "1751-7": "Albumin",
    "10834-0": "Globulin",
    "1975-2": "Total bilirubin",
    "6768-6": "Alkaline phosphatase (ALP)",
    "1742-6": "ALT (liver enzyme)",
    "1920-8": "AST (liver enzyme)",
    # Blood count (CBC)
    "6690-2": "White blood cells",
    "789-8": "Red blood cells",
    "718-7": "Hemoglobin",
    "4544-3": "Hematocrit",
    "787-2": "MCV (red cell size)",
    "785-6": "MCH (hemoglobin per red cell)",
    "786-4": "MCHC (hemoglobin concentration)",
    "21000-5": "RDW (red cell size range)",
    "788-0": "RDW (red cell size range)",
    "777-3": "Platelets",
    "32207-3": "PDW (platelet size range)",
    "32623-1": "MPV (platelet size)",
    # Panels (a DiagnosticReport's code)
    "51990-0": "Basic metabolic panel",
    "24323-8": "Comprehensive metabolic panel",
    "57698-3": "Lipid panel (cholesterol)",
    "58410-2": "Complete blood count (CBC)",
    "57021-8": "Complete blood count (CBC)",
    # Other tests
    "38265-5": "Bone density (T-score)",
    "3016-3": "TSH (thyroid)",
    "2132-9": "Vitamin B12",
    "1989-3": "Vitamin D",
    "5902-2": "Prothrombin time (PT)",
    "6301-6": "INR (clotting time)",
    # Vital signs
    "55284-4": "Blood pressure",
    "85354-9": "Blood pressure",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8302-2": "Height",
    "29463-7": "Weight",
    "39156-5": "BMI (body mass index)",
    "8867-4": "Heart rate",
    "9279-1": "Breathing rate",
    "8310-5": "Body temperature",
    "8331-1": "Temperature (by mouth)",
    "2708-6": "Oxygen saturation",
    "59408-5": "Oxygen saturation",
    "8287-5": "Head circumference",
    "72514-3": "Pain score (0–10)",
    "72166-2": "Smoking status",
}

_BRACKETS = re.compile(r"\s*\[[^\]]*\]")
# Where LOINC's formal name goes on to the specimen, the method, a time or a scale ("... in Serum or Plasma").
_TAIL = re.compile(
    r"\s+(?:in|of|by|-)\s+(?:Serum|Plasma|Blood|Urine|Specimen|Arterial|Venous|Capillary|Cerebral|Body fluid|Stool|"
    r"Saliva|Automated|Manual|calculation|Calculation|Estimated|Immunoassay|Test strip|\d).*$"
)
_RATIO = re.compile(r"^(?P<top>[^/]+?)/(?P<bottom>[A-Z][\w.]*\.total|[A-Z][\w.]*\.[a-z][\w.]*)\b")
_TOTAL = re.compile(r"^(?P<what>[A-Za-z]+)\.total\b")
_MAX = 60
# The kinds of record named by a test's code: results and the reports (panels) that group them.
RESULT_TYPES = ("Observation", "DiagnosticReport")


def short_test_name(code: str | None, name: str) -> str:
    """The short name of a test or measurement: its code's entry in SHORT_TEST_NAMES, else `name` cut where a
    formal name adds what a patient does not need, and cut at a word with "…" if still long."""
    if code and code in SHORT_TEST_NAMES:
        return SHORT_TEST_NAMES[code]
    full = tidy_name(name.strip())
    shown = _BRACKETS.sub("", full)
    shown = _TAIL.sub("", shown)
    ratio = _RATIO.match(shown)
    if ratio:
        shown = ratio["top"]
    shown = _TOTAL.sub(lambda m: f"Total {m['what'].lower()}", shown)  # 'Bilirubin.total' -> 'Total bilirubin'
    shown = re.sub(r"\s+", " ", shown).strip(" -–,;") or full
    if len(shown) > _MAX:
        cut = shown[: _MAX - 1].rsplit(" ", 1)[0].rstrip(" -–,;/")
        shown = (cut or shown[: _MAX - 1]) + "…"
    return shown


def short_result_text(code: str | None, display: str) -> str:
    """A stored result summary ('Hemoglobin A1c/Hemoglobin.total in Blood: 6.27697728752661 %') with the test's
    short name and a readable value ('Hemoglobin A1c: 6.28 %')."""
    name, _, value = display.partition(":")
    shown = readable_measurements(value.strip()) if value.strip() else ""
    return short_test_name(code, name) + (f": {shown}" if shown else "")
