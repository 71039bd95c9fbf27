"""Where a provider is: city, state and ZIP code, as US endpoint lists give them."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STATES", "Place", "split_state_prefix", "state_code", "zip5"]

# USPS codes for the states, DC and the territories whose providers appear in US endpoint lists.
STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
    "AS": "American Samoa", "MP": "Northern Mariana Islands",
}  # fmt: skip
_BY_NAME = {name.casefold(): code for code, name in STATES.items()}
_STATE_PREFIX = re.compile(r"^([A-Z]{2})\s+-\s+(\S.*)$")
_ZIP = re.compile(r"^\s*(\d{5})(?:-?\d{4})?\s*$")


@dataclass(frozen=True, slots=True)
class Place:
    city: str = ""
    state: str = ""  # USPS code when known ("MA"), else as given
    zip: str = ""  # five digits

    def __bool__(self) -> bool:
        return bool(self.city or self.state or self.zip)

    def label(self) -> str:
        """ "Boston, MA 02115", "MA", "02115" or ""."""
        where = ", ".join(p for p in (self.city, self.state) if p)
        return f"{where} {self.zip}".strip()


def state_code(value: str) -> str:
    """ "ma", "MA" or "Massachusetts" -> "MA"; anything else is returned trimmed, as given."""
    text = value.strip()
    if text.upper() in STATES:
        return text.upper()
    return _BY_NAME.get(text.casefold(), text)


def zip5(value: str) -> str:
    match = _ZIP.match(value or "")
    return match.group(1) if match else ""


def split_state_prefix(name: str) -> tuple[str, str]:
    """Some lists (athenahealth's) start practice names with their state: "NC - Sollus Pediatrics" -> ("NC", ...)."""
    match = _STATE_PREFIX.match(name.strip())
    if match and match.group(1) in STATES:
        return match.group(1), match.group(2).strip()
    return "", name.strip()
