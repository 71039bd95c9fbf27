"""How values read to a patient: dates, numbers with units, the names of kinds of record."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

__all__ = ["KIND_NAMES", "format_date", "format_month", "format_number", "format_value", "kind_name", "tidy_name"]

# What a patient calls each FHIR resource type.
KIND_NAMES: dict[str, str] = {
    "AllergyIntolerance": "Allergy",
    "CarePlan": "Care plan",
    "CareTeam": "Care team",
    "Claim": "Claim",
    "Condition": "Condition",
    "Device": "Device",
    "DiagnosticReport": "Report",
    "DocumentReference": "Document",
    "Encounter": "Visit",
    "ExplanationOfBenefit": "Insurance statement",
    "Goal": "Goal",
    "ImagingStudy": "Imaging",
    "Immunization": "Immunization",
    "Location": "Location",
    "Medication": "Medication",
    "MedicationAdministration": "Medication given",
    "MedicationDispense": "Medication dispensed",
    "MedicationRequest": "Medication",
    "MedicationStatement": "Medication",
    "Observation": "Result",
    "Organization": "Organization",
    "Patient": "Patient",
    "Practitioner": "Clinician",
    "PractitionerRole": "Clinician role",
    "Procedure": "Procedure",
    "Provenance": "Provenance",
    "ServiceRequest": "Order",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SNOMED_TAG = re.compile(r"\s*\((disorder|finding|procedure|situation|substance|qualifier value|morphologic abnormality|observable entity|regime/therapy)\)\s*$")  # noqa: E501


def kind_name(resource_type: str) -> str:
    return KIND_NAMES.get(resource_type, re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type).capitalize())


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
    """At most three significant digits after the point, no trailing zeros: 6.377858 -> '6.38', 161.06 -> '161'."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100:
        digits = 0
    elif magnitude >= 10:
        digits = 1
    else:
        digits = 2
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_UNIT_NAMES = {"mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "{score}": "", "/min": "/min", "kg/m2": "kg/m²"}


def format_unit(unit: str | None) -> str:
    if not unit:
        return ""
    unit = _UNIT_NAMES.get(unit, unit)
    return re.sub(r"\{[^}]*\}", "", unit).strip()


def format_value(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    shown = format_unit(unit)
    return f"{format_number(value)} {shown}".strip()


def tidy_name(text: str) -> str:
    """Drop SNOMED semantic tags ('Chronic sinusitis (disorder)' -> 'Chronic sinusitis')."""
    return _SNOMED_TAG.sub("", text).strip() or text


def format_timestamp(value: str | None) -> str:
    """An ISO timestamp as '28 Mar 2021, 04:59' (UTC as stored)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


__all__ += ["format_timestamp", "format_unit"]
