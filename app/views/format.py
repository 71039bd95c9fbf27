"""How values read to a patient: dates, numbers with units, the names of kinds of record."""

from __future__ import annotations

import math
from collections.abc import Callable
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["CODE_WORDS", "KIND_NAMES", "OBSERVATION_KINDS", "STATUS_WORDS", "code_word", "format_date", "format_month",
           "format_number", "format_value", "kind_name", "kind_plural", "plural", "tidy_name"]

# What a patient calls each FHIR resource type: the one mapping every screen uses (a kind of Observation is
# named by its category, OBSERVATION_KINDS below; plurals come from kind_plural).
KIND_NAMES: dict[str, str] = {
    "AllergyIntolerance": "Allergy",
    "Binary": "Attachment",
    "CarePlan": "Care plan",
    "CareTeam": "Care team",
    "Claim": "Insurance claim",
    "Condition": "Health problem",
    "Coverage": "Insurance cover",
    "Device": "Device",
    "DiagnosticReport": "Test report",
    "DocumentReference": "Document",
    "Encounter": "Visit",
    "ExplanationOfBenefit": "Insurance statement",
    "Goal": "Goal",
    "ImagingStudy": "Imaging",
    "Immunization": "Immunization",
    "Location": "Place",
    "Medication": "Medicine",
    "MedicationAdministration": "Medicine given",
    "MedicationDispense": "Medicine dispensed",
    "MedicationRequest": "Medicine",
    "MedicationStatement": "Medicine",
    "Observation": "Result",
    "Organization": "Hospital or clinic",
    "Patient": "Personal details",
    "Practitioner": "Clinician",
    "PractitionerRole": "Clinician's role",
    "Procedure": "Procedure",
    "Provenance": "Where it came from",
    "ServiceRequest": "Order",
}
# Kind names that are their own plural, or whose plural is not the last word's.
_PLURALS = {
    "Personal details": "Personal details",
    "Imaging": "Imaging",
    "Social history": "Social history",
    "Therapy": "Therapy",
    "Activity": "Activity",
    "Where it came from": "Where it came from",
    "Medicine given": "Medicines given",
    "Medicine dispensed": "Medicines dispensed",
    "Clinician's role": "Clinicians' roles",
    "Hospital or clinic": "Hospitals and clinics",
    "Insurance cover": "Insurance cover",
}

# Codes portals send without a display, in words: Observation categories (FHIR's observation-category code
# system), visit classes (HL7 v3 ActCode) and a few statuses.
CODE_WORDS: dict[str, str] = {
    "laboratory": "Laboratory",
    "vital-signs": "Vital signs",
    "survey": "Survey or assessment",
    "social-history": "Social history",
    "exam": "Examination",
    "procedure": "Procedure",
    "imaging": "Imaging",
    "therapy": "Therapy",
    "activity": "Activity",
    "AMB": "Outpatient",
    "IMP": "Inpatient",
    "EMER": "Emergency",
    "HH": "Home health",
    "VR": "Virtual",
    "OBSENC": "Observation stay",
    "SS": "Day surgery",
    "ACUTE": "Inpatient (acute)",
    "PRENC": "Pre-admission",
}

# FHIR's status and other coded elements (plain codes, or codings without a display), where a code's own word
# would mislead or read oddly once capitalised; any other code reads as itself, capitalised ("on-hold" -> "On
# hold"). Condition and AllergyIntolerance clinical and verification status, criticality, and the statuses of
# requests, events and documents.
STATUS_WORDS: dict[str, str] = {
    "recurrence": "Came back",
    "relapse": "Came back",
    "remission": "In remission",
    "unconfirmed": "Not confirmed",
    "differential": "One of the possible diagnoses",
    "refuted": "Ruled out",
    "superseded": "Replaced by a newer version",
    "medication": "Medicine",
    "biologic": "Biological product",
}
# Codes whose word depends on the element: an allergy's criticality is a risk, not a level; a marital status is
# a letter of HL7 v3 MaritalStatus.
_ELEMENT_WORDS: dict[str, dict[str, str]] = {
    "criticality": {"low": "Low risk", "high": "High risk", "unable-to-assess": "Risk not assessed"},
    "maritalStatus": {"A": "Annulled", "D": "Divorced", "I": "Interlocutory", "L": "Legally separated",
                      "M": "Married", "C": "Common law", "P": "Polygamous", "T": "Domestic partner",
                      "U": "Unmarried", "S": "Never married", "W": "Widowed"},
}
_CODE = re.compile(r"^[a-z]+(?:-[a-z]+)*$")


def code_word(code: str, element: str | None = None) -> str:
    """A FHIR code a portal sent without a display, in words: 'confirmed' -> 'Confirmed', 'on-hold' -> 'On hold',
    'refuted' -> 'Ruled out'; `element` (the FHIR element it is the value of) picks a word only it uses. Text that
    is not such a code (a display, 'AMB', '64859006') stays as it is, unless CODE_WORDS names it."""
    if code in CODE_WORDS:
        return CODE_WORDS[code]
    mine = _ELEMENT_WORDS.get(element or "", {})
    if code in mine:
        return mine[code]
    if not _CODE.match(code):
        return code
    return STATUS_WORDS.get(code) or code.replace("-", " ").capitalize()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SNOMED_TAG = re.compile(r"\s*\((disorder|finding|procedure|situation|substance|qualifier value|morphologic abnormality|observable entity|regime/therapy|physical object|event|environment)\)\s*$")  # noqa: E501


# Observations by category (FHIR's observation-category codes): a vital sign is not a lab result.
OBSERVATION_KINDS: dict[str, str] = {
    "laboratory": "Lab result",
    "vital-signs": "Vital sign",
    "survey": "Assessment",
    "social-history": "Social history",
    "exam": "Examination",
    "procedure": "Procedure result",
    "imaging": "Imaging result",
    "therapy": "Therapy",
    "activity": "Activity",
}


def kind_name(resource_type: str, category: str | None = None, *, code: str | None = None, own: bool = False) -> str:
    """What a patient calls a kind of record ('Encounter' -> 'Visit'); an Observation by its category; one of the
    patient's own entries (`own`, with its main `code`) as the add form names it: 'Diary note', 'Symptom',
    'Blood pressure reading' (never 'Result' or 'Condition')."""
    if own:
        from .entries import entry_kind

        named = entry_kind(resource_type, code)
        if named is not None:
            return named
    if resource_type == "Observation" and category in OBSERVATION_KINDS:
        return OBSERVATION_KINDS[category]
    return KIND_NAMES.get(resource_type, re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type).capitalize())


def kind_plural(resource_type: str, category: str | None = None) -> str:
    """The kind's name for many of them: 'Condition' -> 'Health problems', 'AllergyIntolerance' -> 'Allergies'."""
    return plural(kind_name(resource_type, category))


def plural(name: str) -> str:
    """An English plural of a kind's name: the last word's ('Lab result' -> 'Lab results', 'Allergy' ->
    'Allergies'), except the few names listed as their own."""
    if name in _PLURALS:
        return _PLURALS[name]
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(s|x|ch|sh)$", name):
        return name + "es"
    return name + "s"


def format_date(value: str | None) -> str:
    """'2021-03-28T04:59:42Z' -> '28 Mar 2021'; partial dates keep their precision ('Mar 2021', '2021')."""
    if not value:
        return ""
    parts = value[:10].split("-")
    try:
        if len(parts) == 3:
            d = date(int(parts[0]), int(parts[1]), int(parts[2]))
            return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
        if len(parts) == 2:
            return f"{_MONTHS[int(parts[1]) - 1]} {int(parts[0])}"
        return str(int(parts[0]))
    except (ValueError, IndexError):
        return value


def format_month(key: str) -> str:
    """'2021-03' -> 'March 2021'."""
    try:
        year, month = key.split("-")[:2]
        return f"{_LONG_MONTHS[int(month) - 1]} {int(year)}"
    except (ValueError, IndexError):
        return key


def format_number(value: float) -> str:
    """A number at the precision its source implies: as written when that has at most four significant digits
    (a lab's 5.4, 14.25, 1.005), else three significant digits (Synthea's 6.27697728752661 -> '6.28',
    80.34522707875533 -> '80.3'), never dropping whole-number digits (133.52 -> '134', 80942 -> '80942')."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    written = Decimal(repr(float(value))).normalize()
    if len(written.as_tuple().digits) > 4:
        places = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 0
        written = Decimal(f"{value:.{places}f}").normalize()
    text = format(written, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# Units of ordinal scales: a pain rating 0-10, PHQ-9 and GAD-7 totals, any "{score}". A scale has steps, so it reads
# in whole steps: Synthea's pain 2.6713… is a 3, never "2.67". (A T-score or z-score is a measurement, not a scale.)
_SCALE_UNITS = re.compile(r"^\{?(score|scores|points?)\}?$", re.IGNORECASE)


def is_scale(unit: str | None) -> bool:
    """Whether `unit` is that of an ordinal scale ('{score}'), whose values read as whole numbers."""
    return unit is not None and bool(_SCALE_UNITS.match(unit.strip()))


def format_score(value: float) -> str:
    """A point on an ordinal scale as its nearest whole step, halves rounded up: 2.6713 -> '3', 0.0154 -> '0'."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    whole = Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return str(int(whole))


# UCUM codes (and the spellings portals put in `unit`) as a patient reads them.
_UNIT_NAMES = {
    "mm[Hg]": "mmHg",
    "Cel": "°C",
    "C": "°C",  # Synthea's body temperature unit
    "[degF]": "°F",
    "degF": "°F",
    "[lb_av]": "lb",
    "[in_i]": "in",
    "[ft_i]": "ft",
    "[oz_av]": "oz",
    "beats/minute": "beats/min",
    "{beats}/min": "beats/min",
    "{breaths}/min": "breaths/min",
    "/min": "/min",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
}
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"10\*(-?\d+)")  # 10*6/uL -> 10⁶/µL
_SQUARE = re.compile(r"(?<=[a-z])([23])(?![0-9])")  # kg/m2 -> kg/m²
_MICRO = re.compile(r"(?<![A-Za-z])u(?=(?:g|L|mol|IU|eq|m)(?![a-z]))")  # ug, uL, umol/L, uIU/mL -> µ
_ANNOTATION = re.compile(r"\{[^}]*\}")  # {score}, {T-score}: UCUM's comments, not units


def format_unit(unit: str | None) -> str:
    """A unit as a patient reads it: 'mm[Hg]' -> 'mmHg', '10*6/uL' -> '10⁶/µL', 'kg/m2' -> 'kg/m²'."""
    if not unit:
        return ""
    if unit in _UNIT_NAMES:
        return _UNIT_NAMES[unit]
    shown = _ANNOTATION.sub("", unit)
    shown = _POWER.sub(lambda m: "10" + m.group(1).translate(_SUPERSCRIPTS), shown)
    shown = _SQUARE.sub(lambda m: m.group(1).translate(str.maketrans("23", "²³")), shown)
    shown = _MICRO.sub("µ", shown)
    return shown.strip()


# Units: "metric" (kg, cm, °C) or "us" (lb, in, °F), the patient's setting (app/views/preferences.py). One
# process serves one record, so the record's setting is the process's: set when the record is unlocked or the
# patient changes it.
UNIT_SYSTEMS = ("metric", "us")
_units = "metric"
_LB_PER_KG, _CM_PER_IN = 2.20462262185, 2.54
# UCUM unit -> (system it belongs to, the other system's unit, conversion to it)
_CONVERSIONS: dict[str, tuple[str, str, Callable[[float], float]]] = {
    "kg": ("metric", "[lb_av]", lambda v: v * _LB_PER_KG),
    "cm": ("metric", "[in_i]", lambda v: v / _CM_PER_IN),
    "Cel": ("metric", "[degF]", lambda v: v * 9 / 5 + 32),
    "C": ("metric", "[degF]", lambda v: v * 9 / 5 + 32),
    "[lb_av]": ("us", "kg", lambda v: v / _LB_PER_KG),
    "[in_i]": ("us", "cm", lambda v: v * _CM_PER_IN),
    "[degF]": ("us", "Cel", lambda v: (v - 32) * 5 / 9),
}


def use_units(system: str) -> None:
    """Show body measurements in this system from now on ("metric" or "us")."""
    global _units
    if system not in UNIT_SYSTEMS:
        raise ValueError(system)
    _units = system


def units_in_use() -> str:
    return _units


def convert(value: float, unit: str | None, system: str | None = None) -> tuple[float, str | None]:
    """A body measurement in the patient's units (or `system`'s): (70, 'kg') -> (154.3, '[lb_av]') for US units.
    Other units stay as they are: a lab's mg/dL is what the lab and the doctor use."""
    found = _CONVERSIONS.get(unit or "")
    if found is None or found[0] == (system or _units):
        return value, unit
    return found[2](value), found[1]


def format_value(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    value, unit = convert(value, unit)
    shown = format_unit(unit)
    number = format_score(value) if is_scale(unit) else format_number(value)
    return f"{number} {shown}".strip()


def format_blood_pressure(systolic: float, diastolic: float, unit: str | None) -> str:
    """Blood pressure the way it is said: '134/80 mmHg' (whole numbers, as a cuff shows them)."""
    return f"{round(systolic)}/{round(diastolic)} {format_unit(unit)}".strip()


# A stored summary of an observation's components ('Diastolic Blood Pressure 80.34 mm[Hg]; Systolic Blood
# Pressure 133.52 mm[Hg]'): the two pressures, in either order.
_PRESSURE = re.compile(
    r"(?P<k1>Systolic|Diastolic) blood pressure (?P<v1>-?\d+(?:\.\d+)?) ?(?P<u1>[^;]*?)\s*;\s*"
    r"(?P<k2>Systolic|Diastolic) blood pressure (?P<v2>-?\d+(?:\.\d+)?) ?(?P<u2>[^;]*?)\s*$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def readable_measurements(text: str) -> str:
    """A stored result summary with its numbers and units made readable: blood pressure as systolic/diastolic,
    long decimals at three significant digits, UCUM units in their everyday form. Other words stay as they are."""
    pressure = _PRESSURE.match(text.strip())
    if pressure and pressure["k1"].lower() != pressure["k2"].lower():
        values = {pressure["k1"].lower(): float(pressure["v1"]), pressure["k2"].lower(): float(pressure["v2"])}
        return format_blood_pressure(values["systolic"], values["diastolic"], pressure["u1"] or pressure["u2"])
    words = text.split(" ")
    for i, word in enumerate(words):
        core = word.rstrip(";,")
        number = _NUMBER.match(core)
        if not number:
            continue
        following = words[i + 1] if i + 1 < len(words) else ""
        unit = following.rstrip(";,")
        if number.group(1):  # a decimal; whole numbers are kept as written
            shown = format_score(float(core)) if is_scale(unit) else format_number(float(core))
            words[i] = shown + word[len(core):]
        if following:
            words[i + 1] = format_unit(unit) + following[len(unit):]
    return " ".join(word for word in words if word)


_QUOTED = re.compile(r"(?<!\w)'([^']+)'(?!\w)")


_CAPITALS = re.compile(r"[A-Z]+")
# Short words of a name in capitals that are English, not abbreviations: they are written small like the rest.
_SMALL_WORDS = frozenset("A AN AND ARE AS AT BY FOR IN IS NO NOT OF ON OR PER THE TO USE WAS".split())
# Abbreviations of four letters or more that stay in capitals.
_LONG_ABBREVIATIONS = frozenset("AIDS COPD COVID DTAP HBSAG MMSE MRSA SARS TDAP".split())


def _unshouted(text: str) -> str:
    """A name written all in capitals ('CURRENT ANTIRETROVIRAL DRUGS USED FOR TREATMENT', as some sources file
    surveys) in sentence case; abbreviations of up to three letters keep their capitals ('HIV DNA polymerase chain
    reaction, qualitative'). A name with any small letter is left as written."""
    if any(c.islower() for c in text) or sum(c.isalpha() for c in text) < 8 or " " not in text.strip():
        return text

    def word(match: re.Match[str]) -> str:
        letters = match.group(0)
        if letters in _LONG_ABBREVIATIONS or (len(letters) <= 3 and letters not in _SMALL_WORDS):
            return letters
        return letters.lower()

    small = _CAPITALS.sub(word, text)
    first = next((i for i, c in enumerate(small) if c.isalpha()), None)
    return small if first is None else small[:first] + small[first].upper() + small[first + 1:]


def tidy_name(text: str) -> str:
    """Drop SNOMED semantic tags ('Chronic sinusitis (disorder)' -> 'Chronic sinusitis') and the quotes SNOMED
    puts around a word ("Encounter for 'check-up'" -> 'Encounter for check-up'); an apostrophe stays. A name that
    is only a code (a claim named by its type, 'institutional') reads as a word; one in capitals, in sentence
    case."""
    return code_word(_unshouted(_QUOTED.sub(r"\1", _SNOMED_TAG.sub("", text).strip()) or text))


def day_of(value: str | None) -> date | None:
    """The day an ISO date or date-time names (a year alone: its first day); None when there is no readable date."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date(int(value[:4]), 1, 1)
    except ValueError:
        return None


def years_since(value: str | None, today: date | None = None) -> int | None:
    """Whole years from an ISO date to today (None when there is no readable date)."""
    then = day_of(value)
    if then is None:
        return None
    now = today or date.today()
    return now.year - then.year - ((now.month, now.day) < (then.month, then.day))


def format_timestamp(value: str | None) -> str:
    """An ISO timestamp as '28 Mar 2021, 04:59' (UTC as stored)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def source_label(name: str) -> str:
    """A source's name as lists say it: the patient's own entries are "Added by you"."""
    from app.record.entries import ADDED_BY_YOU, is_own

    return ADDED_BY_YOU if is_own(name) else name


__all__ += ["UNIT_SYSTEMS", "convert", "source_label", "units_in_use", "use_units", "years_since", "day_of", "format_blood_pressure", "format_timestamp",
            "format_score", "format_unit", "is_scale", "readable_measurements"]
