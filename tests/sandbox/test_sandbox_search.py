"""US Core searches, paging with opaque next links, _revinclude, _lastUpdated, and data changed between syncs."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from sandbox_support import App, Connection

from sync.sandbox import SandboxServer

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@pytest.fixture(scope="module")
def jesus(sandbox: SandboxServer) -> Connection:
    return App(sandbox).connect("jesus")


@pytest.fixture(scope="module")
def carolyne(sandbox: SandboxServer) -> Connection:
    return App(sandbox).connect("carolyne")


def _search(sandbox: SandboxServer, who: Connection, rtype: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{sandbox.base_url}/{rtype}", params=params, headers=who.headers, timeout=10)


def _all_pages(sandbox: SandboxServer, who: Connection, rtype: str, **params: Any) -> list[dict[str, Any]]:
    response = _search(sandbox, who, rtype, **params)
    entries: list[dict[str, Any]] = []
    for _ in range(100):
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["type"] == "searchset"
        entries += [e for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return entries
        response = httpx.get(following[0], headers=who.headers, timeout=10)
    raise AssertionError("paging did not end")


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["resource"]["id"] for e in entries]


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _labs(sandbox: SandboxServer, patient: str) -> list[dict[str, Any]]:
    return [
        o
        for o in sandbox.store.for_patient(patient, "Observation")
        if any(c.get("code") == "laboratory" for cat in o.get("category", []) for c in cat.get("coding", []))
    ]


# --- required parameters (as a strict EHR) ---------------------------------------------------------------------


def test_observation_without_category_or_code_is_400(sandbox: SandboxServer, jesus: Connection) -> None:
    response = _search(sandbox, jesus, "Observation", patient=jesus.patient)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
    assert "category or code" in outcome["issue"][0]["diagnostics"]


def test_medication_request_without_intent_is_400(sandbox: SandboxServer, jesus: Connection) -> None:
    response = _search(sandbox, jesus, "MedicationRequest", patient=jesus.patient)
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


def test_clinical_search_without_patient_is_400(sandbox: SandboxServer, jesus: Connection) -> None:
    assert _search(sandbox, jesus, "Condition").status_code == 400


# --- the US Core parameters --------------------------------------------------------------------------------------


def test_category_token_forms(sandbox: SandboxServer, jesus: Connection) -> None:
    expected = {o["id"] for o in _labs(sandbox, jesus.patient)}
    assert len(expected) > 200
    for value in ("laboratory", f"{OBS_CATEGORY}|laboratory"):
        assert set(_ids(_all_pages(sandbox, jesus, "Observation", patient=jesus.patient, category=value))) == expected
    assert _search(sandbox, jesus, "Observation", patient=jesus.patient, category="http://other|laboratory").json()["total"] == 0
    both = _search(sandbox, jesus, "Observation", patient=f"Patient/{jesus.patient}", category="laboratory,vital-signs")
    vitals = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="vital-signs").json()["total"]
    assert both.json()["total"] == len(expected) + vitals


def test_code_search(sandbox: SandboxServer, jesus: Connection) -> None:
    wanted = "http://loinc.org|8331-1"
    expected = {
        o["id"] for o in sandbox.store.for_patient(jesus.patient, "Observation")
        if any(c["code"] == "8331-1" for c in o["code"]["coding"])
    }
    assert expected
    assert set(_ids(_all_pages(sandbox, jesus, "Observation", patient=jesus.patient, code=wanted))) == expected


@pytest.mark.parametrize("prefix", ["", "eq", "ge", "gt", "le", "lt", "ne"])
def test_date_prefixes(sandbox: SandboxServer, jesus: Connection, prefix: str) -> None:
    day = "2015-06-01"
    start, end = _when(day + "T00:00:00+00:00"), _when("2015-06-02T00:00:00+00:00")

    def expected(o: dict[str, Any]) -> bool:
        at = _when(o["effectiveDateTime"])
        return {
            "": start <= at < end,
            "eq": start <= at < end,
            "ne": not (start <= at < end),
            "ge": at >= start,
            "gt": at >= end,
            "le": at < end,
            "lt": at < start,
        }[prefix]

    want = {o["id"] for o in _labs(sandbox, jesus.patient) if expected(o)}
    got = _ids(_all_pages(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", date=prefix + day, _count=200))
    assert set(got) == want


def test_date_range_with_two_bounds_and_time_zone(sandbox: SandboxServer, jesus: Connection) -> None:
    response = httpx.get(
        f"{sandbox.base_url}/Observation",
        params=[("patient", jesus.patient), ("category", "laboratory"), ("date", "ge2014-01-01T00:00:00-05:00"),
                ("date", "lt2016-01-01"), ("_count", "200")],
        headers=jesus.headers,
    )
    low, high = _when("2014-01-01T05:00:00+00:00"), _when("2016-01-01T00:00:00+00:00")
    want = {o["id"] for o in _labs(sandbox, jesus.patient) if low <= _when(o["effectiveDateTime"]) < high}
    assert {e["resource"]["id"] for e in response.json().get("entry", [])} == want


def test_bad_date_is_400(sandbox: SandboxServer, jesus: Connection) -> None:
    for value in ("yesterday", "2015-13-01", "ap2015"):
        response = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", date=value)
        assert response.status_code == 400, value


def test_intent_and_status(sandbox: SandboxServer, jesus: Connection) -> None:
    requests = sandbox.store.for_patient(jesus.patient, "MedicationRequest")
    orders = _search(sandbox, jesus, "MedicationRequest", patient=jesus.patient, intent="order").json()
    assert orders["total"] == len([m for m in requests if m["intent"] == "order"]) > 0
    active = _search(sandbox, jesus, "MedicationRequest", patient=jesus.patient, intent="order", status="active").json()
    assert {e["resource"]["id"] for e in active.get("entry", [])} == {
        m["id"] for m in requests if m["status"] == "active"
    }
    assert _search(sandbox, jesus, "MedicationRequest", patient=jesus.patient, intent="plan").json()["total"] == 0


def test_condition_category_and_clinical_status(sandbox: SandboxServer, carolyne: Connection, jesus: Connection) -> None:
    filed = [
        c["id"] for c in sandbox.store.for_patient(carolyne.patient, "Condition")
        if any(code.get("code") == "encounter-diagnosis" for cat in c.get("category", []) for code in cat["coding"])
    ]
    assert filed
    by_category = _search(sandbox, carolyne, "Condition", patient=carolyne.patient, category="encounter-diagnosis").json()
    assert sorted(_ids(by_category["entry"])) == sorted(filed)
    conditions = sandbox.store.for_patient(jesus.patient, "Condition")
    resolved = _search(sandbox, jesus, "Condition", patient=jesus.patient, **{"clinical-status": "resolved"}).json()
    assert resolved["total"] == len(
        [c for c in conditions if c["clinicalStatus"]["coding"][0]["code"] == "resolved"]
    )


def test_diagnostic_report_and_encounter_and_procedure(sandbox: SandboxServer, jesus: Connection) -> None:
    reports = _search(sandbox, jesus, "DiagnosticReport", patient=jesus.patient, category="LAB").json()
    assert reports["total"] == len(sandbox.store.for_patient(jesus.patient, "DiagnosticReport"))
    encounters = _search(sandbox, jesus, "Encounter", patient=jesus.patient, date="ge2000").json()
    assert 0 < encounters["total"] <= len(sandbox.store.for_patient(jesus.patient, "Encounter"))
    procedures = _search(sandbox, jesus, "Procedure", patient=jesus.patient, date="lt1900").json()
    assert procedures["total"] == 0


def test_every_resource_carries_meta_last_updated(sandbox: SandboxServer, jesus: Connection) -> None:
    for rtype in ("Condition", "Immunization", "Encounter", "Procedure", "CarePlan", "Goal"):
        for entry in _all_pages(sandbox, jesus, rtype, patient=jesus.patient):
            assert entry["resource"]["meta"]["lastUpdated"].endswith("Z")
            assert entry["fullUrl"] == f"{sandbox.base_url}/{rtype}/{entry['resource']['id']}"


def test_unknown_parameters_are_ignored_with_a_warning_or_refused_when_strict(
    sandbox: SandboxServer, jesus: Connection
) -> None:
    bundle = _search(sandbox, jesus, "Condition", patient=jesus.patient, _sort="date").json()
    outcomes = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes and "_sort" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    assert "_sort" not in bundle["link"][0]["url"]  # the self link shows only what was applied
    strict = httpx.get(
        f"{sandbox.base_url}/Condition",
        params={"patient": jesus.patient, "_sort": "date"},
        headers={**jesus.headers, "Prefer": "handling=strict"},
    )
    assert strict.status_code == 400


def test_modifiers_are_refused(sandbox: SandboxServer, jesus: Connection) -> None:
    response = _search(sandbox, jesus, "Condition", patient=jesus.patient, **{"code:text": "x"})
    assert response.status_code == 400


def test_post_search(sandbox: SandboxServer, jesus: Connection) -> None:
    response = httpx.post(
        f"{sandbox.base_url}/Observation/_search",
        data={"patient": jesus.patient, "category": "vital-signs"},
        headers=jesus.headers,
    )
    assert response.status_code == 200
    assert response.json()["total"] == _search(sandbox, jesus, "Observation", patient=jesus.patient, category="vital-signs").json()["total"]


# --- paging ----------------------------------------------------------------------------------------------------


def test_count_default_max_and_refusals(sandbox: SandboxServer, jesus: Connection) -> None:
    default = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory").json()
    assert len(default["entry"]) == 50 and default["total"] > 200
    capped = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=1000).json()
    assert len(capped["entry"]) == 200
    assert _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count="ten").status_code == 400
    assert _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=-1).status_code == 400
    only_total = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=0).json()
    assert only_total["total"] == default["total"] and "entry" not in only_total
    assert [link["relation"] for link in only_total["link"]] == ["self"]


def test_paging_gets_everything_once(sandbox: SandboxServer, jesus: Connection) -> None:
    entries = _all_pages(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=30)
    ids = _ids(entries)
    assert len(ids) == len(set(ids))
    assert set(ids) == {o["id"] for o in _labs(sandbox, jesus.patient)}


def test_next_links_are_opaque_and_bound_to_the_patient(sandbox: SandboxServer, jesus: Connection, carolyne: Connection) -> None:
    first = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=10).json()
    again = _search(sandbox, jesus, "Observation", patient=jesus.patient, category="laboratory", _count=10).json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    other_url = next(link["url"] for link in again["link"] if link["relation"] == "next")
    assert next_url.startswith(f"{sandbox.base_url}/_page/") and "?" not in next_url
    assert next_url != other_url  # a fresh random token per page, nothing a client could compute
    assert len(next_url.rsplit("/", 1)[1]) >= 32
    assert httpx.get(next_url, headers=carolyne.headers).status_code == 403
    assert httpx.get(next_url).status_code == 401
    assert httpx.get(f"{sandbox.base_url}/_page/made-up", headers=jesus.headers).status_code == 410
    # the link can be retried (a client retries after a 429 or a 503)
    one = httpx.get(next_url, headers=jesus.headers).json()
    two = httpx.get(next_url, headers=jesus.headers).json()
    assert _ids(one["entry"]) == _ids(two["entry"])


def test_revinclude_provenance(sandbox: SandboxServer, carolyne: Connection) -> None:
    bundle = _search(sandbox, carolyne, "Condition", patient=carolyne.patient, _revinclude="Provenance:target").json()
    included = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["resourceType"] for e in included] == ["Provenance"]
    targets = {t["reference"] for t in included[0]["resource"]["target"]}
    assert {f"Condition/{e['resource']['id']}" for e in bundle["entry"] if e["search"]["mode"] == "match"} <= targets
    plain = _search(sandbox, carolyne, "Condition", patient=carolyne.patient).json()
    assert all(e["search"]["mode"] == "match" for e in plain["entry"])


# --- changes between two syncs --------------------------------------------------------------------------------


def test_add_change_delete_between_syncs(sandbox: SandboxServer) -> None:
    who = App(sandbox).connect("reyna")
    before = _all_pages(sandbox, who, "Condition", patient=who.patient)
    since = max(e["resource"]["meta"]["lastUpdated"] for e in before)
    assert _search(sandbox, who, "Condition", patient=who.patient, _lastUpdated=f"gt{since}").json()["total"] == 0

    changed = copy.deepcopy(before[0]["resource"])
    changed["clinicalStatus"]["coding"][0]["code"] = "inactive"
    stored = sandbox.store.put(changed)
    assert stored["meta"]["versionId"] == "2" and stored["meta"]["lastUpdated"] > since
    added = sandbox.store.put({**copy.deepcopy(before[1]["resource"]), "id": None})
    assert added["id"] and added["id"] != before[1]["resource"]["id"]
    gone = before[2]["resource"]["id"]
    sandbox.store.delete("Condition", gone)
    try:
        recent = _search(sandbox, who, "Condition", patient=who.patient, _lastUpdated=f"gt{since}").json()
        assert set(_ids(recent["entry"])) == {changed["id"], added["id"]}
        assert _search(sandbox, who, "Condition", patient=who.patient, _lastUpdated=f"le{since}").json()["total"] == len(before) - 2
        assert _search(sandbox, who, "Condition", patient=who.patient, _lastUpdated=f"ge{stored['meta']['lastUpdated']}").json()["total"] == 2
        assert _search(sandbox, who, "Condition", patient=who.patient, _lastUpdated=f"lt{stored['meta']['lastUpdated']}").json()["total"] == len(before) - 2
        after = _all_pages(sandbox, who, "Condition", patient=who.patient)
        assert set(_ids(after)) == {c["id"] for c in sandbox.store.for_patient(who.patient, "Condition")}
        assert gone not in _ids(after)
        read = httpx.get(f"{sandbox.base_url}/Condition/{gone}", headers=who.headers)
        assert read.status_code == 410
        current = httpx.get(f"{sandbox.base_url}/Condition/{changed['id']}", headers=who.headers)
        assert current.json()["clinicalStatus"]["coding"][0]["code"] == "inactive"
        assert current.headers["etag"] == 'W/"2"'
    finally:
        sandbox.store.put(before[2]["resource"])
        sandbox.store.put(before[0]["resource"])
        sandbox.store.delete("Condition", added["id"])


def test_deleted_while_paging_is_skipped(sandbox: SandboxServer) -> None:
    who = App(sandbox).connect("karena")
    first = _search(sandbox, who, "Encounter", patient=who.patient, _count=10).json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    victim = sandbox.store.for_patient(who.patient, "Encounter")[12]
    sandbox.store.delete("Encounter", victim["id"])
    try:
        page = httpx.get(next_url, headers=who.headers).json()
        assert victim["id"] not in _ids(page["entry"]) and len(page["entry"]) == 9
    finally:
        sandbox.store.put(victim)
