"""sync.fhir.outcome: one reading of an OperationOutcome, for an error answer and for a search's warnings."""

from __future__ import annotations

import json

from sync.fhir.outcome import issue_text, outcome_text


def test_diagnostics_then_details_text_whitespace_collapsed() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "warning", "code": "processing", "diagnostics": "Some  results\nwere left out"},
            {"severity": "warning", "code": "informational", "details": {"text": "Search limited to 5 years"}},
            {"severity": "information", "code": "informational"},
            "not an issue",
        ],
    }
    assert issue_text(outcome) == "Some results were left out; Search limited to 5 years"
    assert issue_text(outcome, codes=True) == "Some results were left out; Search limited to 5 years; informational"


def test_nothing_said_is_none() -> None:
    assert issue_text({"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]}) is None
    assert issue_text({"resourceType": "OperationOutcome", "issue": [{"diagnostics": "   "}]}) is None
    assert issue_text({"resourceType": "OperationOutcome"}) is None


def test_a_long_text_is_cut_with_an_ellipsis() -> None:
    text = issue_text({"issue": [{"diagnostics": "x" * 500}]}, limit=300)
    assert text is not None and len(text) == 300 and text.endswith("…")
    assert issue_text({"issue": [{"diagnostics": "x" * 300}]}, limit=300) == "x" * 300


def test_a_response_body_names_codes_when_it_says_nothing_else() -> None:
    issue = {"severity": "error", "code": "not-found"}
    assert outcome_text(json.dumps({"resourceType": "OperationOutcome", "issue": [issue]}).encode()) == "not-found"
    issue["diagnostics"] = "Access denied by policy"
    assert outcome_text(json.dumps({"resourceType": "OperationOutcome", "issue": [issue]}).encode()) == "Access denied by policy"


def test_a_body_that_is_no_outcome_says_nothing() -> None:
    assert outcome_text(b"<html>Bad gateway</html>") is None
    assert outcome_text(b'{"resourceType": "Patient", "issue": [{"diagnostics": "x"}]}') is None
    assert outcome_text(b"[1, 2]") is None
