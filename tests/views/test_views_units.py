"""Units by the patient's setting (issue 18 item 5): body measurements from real Synthea values shown in metric or
US units at the precision the source implies; lab units are never converted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.views.format import convert, format_value, units_in_use, use_units


@pytest.fixture
def us() -> Iterator[None]:
    use_units("us")
    yield
    use_units("metric")


def test_metric_shows_values_as_stored() -> None:
    assert units_in_use() == "metric"
    assert format_value(85.3, "kg") == "85.3 kg"
    assert format_value(174.4, "cm") == "174.4 cm"  # as written: four digits at most
    assert format_value(37.2, "Cel") == "37.2 °C"
    assert format_value(188.0, "[lb_av]") == "85.3 kg"  # a US portal's pounds, for a metric reader


@pytest.mark.usefixtures("us")
def test_us_units_from_real_synthea_values() -> None:
    # Elvina Lemke's latest weight, height and oral temperature in the demo data.
    assert format_value(85.30000000000001, "kg") == "188 lb"
    assert format_value(174.0, "cm") == "68.5 in"
    assert format_value(37.67, "Cel") == "99.8 °F"
    assert format_value(36.9, "C") == "98.4 °F"  # Synthea's body temperature unit
    assert format_value(68.5, "[in_i]") == "68.5 in"
    # Not body measurements: a lab's units stay as the lab reported them.
    assert format_value(97.8, "mg/dL") == "97.8 mg/dL"
    assert format_value(27.1, "kg/m2") == "27.1 kg/m²"
    assert convert(5.0, "g/dL") == (5.0, "g/dL")


def test_an_unknown_system_is_refused() -> None:
    with pytest.raises(ValueError):
        use_units("imperial")
    assert units_in_use() == "metric"
