"""How the patient likes Carry to look: units, light or dark, text size. Kept in the record (its settings table),
so they follow the record to a new device with a backup."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.record import Record, RecordError

from .format import use_units

__all__ = [
    "APPEARANCES", "PreferenceRefused", "Preferences", "TEXT_SIZES", "UNIT_CHOICES", "load_preferences", "save_preference",
]  # fmt: skip

_KEYS = {"units": "ui.units", "appearance": "ui.appearance", "text_size": "ui.text_size"}
UNIT_CHOICES = {"metric": "Metric (kg, cm, °C)", "us": "US (lb, in, °F)"}
APPEARANCES = {"light": "Light", "dark": "Dark"}
# name -> (words, how much larger than the normal text)
TEXT_SIZES = {"normal": ("Normal", 1.0), "large": ("Large", 1.2), "larger": ("Larger", 1.4)}


class PreferenceRefused(RecordError):
    """A preference value Carry does not offer."""

    code = "record.preference-refused"
    default_message = "Carry does not offer that setting; nothing was changed."


@dataclass(frozen=True)
class Preferences:
    units: str = "metric"
    appearance: str = "light"
    text_size: str = "normal"

    @property
    def dark(self) -> bool:
        return self.appearance == "dark"

    @property
    def text_scale(self) -> float:
        return TEXT_SIZES[self.text_size][1]


_CHOICES: dict[str, frozenset[str]] = {"units": frozenset(UNIT_CHOICES), "appearance": frozenset(APPEARANCES),
                                       "text_size": frozenset(TEXT_SIZES)}  # fmt: skip


def load_preferences(record: Record) -> Preferences:
    """The record's preferences (a value this Carry does not know falls back to the default), put to use."""
    values: dict[str, str] = {}
    for name, key in _KEYS.items():
        stored = record.get_setting(key)
        if stored is not None and stored in _CHOICES[name]:
            values[name] = stored
    prefs = Preferences(**values)
    use_units(prefs.units)
    return prefs


def save_preference(record: Record, name: str, value: str) -> Preferences:
    """Change one preference ("units", "appearance" or "text_size"); a value Carry does not offer changes nothing."""
    if name not in _KEYS:
        raise PreferenceRefused(f"Carry has no setting called {name!r}.")
    if value not in _CHOICES[name]:
        offered = ", ".join(sorted(_CHOICES[name]))
        raise PreferenceRefused(f"Choose one of {offered} for {name.replace('_', ' ')}; nothing was changed.")
    record.set_setting(_KEYS[name], value)
    prefs = replace(load_preferences(record), **{name: value})
    use_units(prefs.units)
    return prefs

