"""The sharing service (app/shares.py) over real records, and Carry's own server hosting the links.

Selection over facts, the IPS it builds, the files (PDF, FHIR, QR), what the host holds (ciphertext only), opening
a link over HTTP, passcodes, expiry, revocation, the access log merged on unlock, and keeping a received summary.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from shares_support import HOSPITAL, make_record
from support.clock import TestClock

from app.record import Record
from app.record.share_state import ShareState
from app.shares import (
    CHECK_IN,
    ShareHost,
    ShareSettings,
    candidates,
    create_share,
    files_for,
    host_status,
    keep_received,
    merge_access,
    open_shared,
    parse_expiry,
    received_sections,
    revoke,
    share_links,
)
from support.copies import confirm_one_person
from support.records import PASSPHRASE
from sync.share import LinkInactive, PasscodeRefused, ShareError, check_ips, check_ktc, decode_link, qr_matrix, summary_rows

NOW = datetime(2021, 6, 1, tzinfo=timezone.utc)  # the demo patients' last year of results ends in 2020/2021


def _host(tmp_path: Path) -> ShareHost:
    return ShareHost.open(settings=ShareSettings(public_url="https://share.example.org"))


def _pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


# --- selection ---------------------------------------------------------------------------------------------------


def test_default_selection_is_active_problems_current_meds_allergies_immunizations_recent_results(
    elvina: Record,
) -> None:
    selection = candidates(elvina, now=NOW)
    picked = {c.key: c for c in selection.chosen()}
    problems = sorted(c.display for c in picked.values() if c.section == "problems")
    assert "Osteoporosis (disorder)" in problems and "Prediabetes" in problems
    assert all(c.resource["clinicalStatus"]["coding"][0]["code"] == "active"
               for c in picked.values() if c.section == "problems")  # fmt: skip
    # Resolved problems are offered, not picked.
    past = selection.in_section("past-problems")
    assert any("bronchitis" in c.display for c in past) and not any(c.key in selection.picked for c in past)
    meds = sorted(c.display for c in picked.values() if c.section == "medications")
    assert meds == ["Alendronic acid 10 MG Oral Tablet", "Naproxen sodium 220 MG Oral Tablet"]
    assert [c.display for c in picked.values() if c.section == "allergies"] == ["Shellfish allergy"]
    assert any(c.section == "immunizations" for c in picked.values())
    results = [c for c in picked.values() if c.section == "results"]
    assert results, "the demo patient has lab results within 12 months of NOW"
    assert all(c.date and c.date >= "2020-06-01" for c in results)
    assert not any(c.section == "vital-signs" and c.key in selection.picked for c in selection.items)


def test_older_results_and_vital_signs_are_offered_unticked_by_year(elvina: Record) -> None:
    """Results older than the last 12 months or so were never offered; now they are, unpicked, and the share
    screen groups them by year, newest year first."""
    from app.views.people import Scope
    from app.views.share import share_choices

    later = datetime(2023, 6, 1, tzinfo=timezone.utc)  # the demo's last labs are three years old by then
    selection = candidates(elvina, now=later)
    older = [c for c in selection.items if c.older]
    assert {c.section for c in older} == {"results", "vital-signs"}
    assert len([c for c in older if c.section == "results"]) >= 20
    assert not any(c.key in selection.picked for c in older)
    assert all((c.date or "") < "2022-04-27" for c in older)
    assert selection.pick(add=[older[0].key]).counts()[older[0].section] == 1
    scope = Scope()  # one person in the record: no person picked
    choices = share_choices(elvina, scope)
    grouped = [s for s in choices.sections if s.older]
    assert grouped and grouped[0].title.startswith(("Results from 20", "Vital signs from 20"))
    years = [s.name.split("@")[1] for s in grouped if s.name.startswith("results@")]
    assert years == sorted(years, reverse=True) and "2019" in years
    assert not any(i.default for s in grouped for i in s.items)
    # The checkboxes name things as the summary does: "Osteoporosis", not SNOMED's "Osteoporosis (disorder)".
    problems = [i.text for s in choices.sections if s.name == "problems" for i in s.items]
    assert any(t.startswith("Osteoporosis · ") for t in problems) and not any("(disorder)" in t for t in problems)


def test_a_summary_from_three_portals_lists_each_problem_once(tmp_path: Path) -> None:
    path = tmp_path / "three.carry"
    for source in ("Portal A", "Portal B", "Portal C"):
        make_record(path, [*HOSPITAL, "Elvina_Lemke_*.json"], source=source)
    with Record.open(path, PASSPHRASE) as record:
        confirm_one_person(record)  # the same patient at three portals: she says so once (issue 12)
        selection = candidates(record, now=NOW)
        problems = [c for c in selection.chosen() if c.section == "problems"]
        assert len(problems) == len({c.display for c in problems}) == 5
        assert all(set(c.sources) == {"Portal A", "Portal B", "Portal C"} for c in problems)
        made = create_share(record, _host(tmp_path), selection, now=NOW)
    conditions = _resources(made.bundle, "Condition")
    assert len(conditions) == 5
    assert len(_resources(made.bundle, "MedicationRequest")) == 2


def test_whole_sections_and_single_items(elvina: Record) -> None:
    selection = candidates(elvina, now=NOW)
    only = selection.pick(sections=["problems", "allergies"])
    assert set(only.counts()) == {"problems", "allergies"}
    osteo = next(c for c in selection.items if c.display == "Osteoporosis (disorder)")
    bronchitis = next(c for c in selection.items if "bronchitis" in c.display)
    fewer = only.pick(leave_out=[osteo.key[:8]], add=[bronchitis.key])
    assert osteo.key not in fewer.picked and bronchitis.key in fewer.picked
    assert fewer.counts()["past-problems"] == 1
    # A section with nothing picked by default takes all its items when asked for by name.
    assert only.pick(sections=["past-problems"]).counts() == {"past-problems": len(selection.in_section("past-problems"))}
    with pytest.raises(ShareError, match="not a summary section"):
        selection.pick(sections=["gossip"])
    with pytest.raises(ShareError, match="not an item"):
        selection.pick(leave_out=["nonexistent-item"])


# --- making a link -----------------------------------------------------------------------------------------------


def test_create_share_makes_a_valid_ips_pdf_fhir_and_qr(elvina: Record, tmp_path: Path) -> None:
    host = _host(tmp_path)
    made = create_share(elvina, host, candidates(elvina, now=NOW), label="For Dr Rivera",
                        expires=parse_expiry("7d"), now=NOW)  # fmt: skip
    assert check_ips(made.bundle) == []
    assert json.loads(made.fhir_json)["type"] == "document"
    payload = decode_link(made.uri)
    assert payload.url.startswith("https://share.example.org/shl/") and payload.label == "For Dr Rivera"
    assert payload.exp is not None and abs(payload.exp - (time.time() + 7 * 86400)) < 60
    assert made.qr_png.startswith(b"\x89PNG") and made.qr_svg.lstrip().startswith("<svg")
    assert qr_matrix(made.uri)  # the QR holds exactly the link
    text = _pdf_text(made.pdf)
    for problem in ("Osteoporosis", "Prediabetes", "Shellfish allergy", "Alendronic acid"):
        assert problem in text
    assert made.uri in "".join(text.split())
    # The record keeps the link (with its key) and can make the files again.
    (row,) = share_links(elvina)
    assert row.link_id == made.link_id and row.uri == made.uri and row.sections == made.sections
    pdf, fhir = files_for(row)
    assert "Osteoporosis" in _pdf_text(pdf) and json.loads(fhir)["id"] == made.bundle["id"]
    assert elvina.audit_log(action="share-create")


def test_the_host_holds_only_ciphertext(elvina: Record, tmp_path: Path) -> None:
    host = _host(tmp_path)
    made = create_share(elvina, host, candidates(elvina, now=NOW), label="Elvina for Dr Rivera", passcode="tulip-42",
                        now=NOW)  # fmt: skip
    raw = ShareHost.store_path().read_bytes()
    for secret in (b"Elvina", b"Osteoporosis", b"Rivera", b"tulip-42", decode_link(made.uri).key):
        assert secret not in raw
    hosted = host.store.link(made.link_id)
    assert hosted is not None and hosted.passcode_hash and "tulip-42" not in hosted.passcode_hash


def test_bad_requests_change_nothing(elvina: Record, tmp_path: Path) -> None:
    host = _host(tmp_path)
    selection = candidates(elvina, now=NOW)
    with pytest.raises(ShareError, match="Nothing is picked"):
        create_share(elvina, host, selection.with_items([]))
    with pytest.raises(ShareError, match="at least 4"):
        create_share(elvina, host, selection, passcode="12")
    with pytest.raises(ShareError, match="expiry"):
        parse_expiry("5 fortnights")
    with pytest.raises(ShareError, match="one minute to one year"):
        parse_expiry("900d")
    assert parse_expiry("never") is None
    assert share_links(elvina) == []
    with sqlite3.connect(ShareHost.store_path()) as db:
        assert db.execute("SELECT count(*) FROM link").fetchone()[0] == 0


def test_settings_refuse_addresses_that_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(ShareError, match="https"):
        ShareSettings(public_url="http://carry.home").save()
    with pytest.raises(ShareError, match="without /shl"):
        ShareSettings(public_url="https://share.example.org/shl").save()
    with pytest.raises(ShareError, match="viewer"):
        ShareSettings(viewer_url="http://viewer.example").save()
    ShareSettings(public_url="https://share.example.org", viewer_url="https://viewer.example/").save()
    loaded = ShareSettings.load()
    assert loaded.public_base() == "https://share.example.org/shl" and loaded.viewer_url == "https://viewer.example/"


def test_a_configured_viewer_prefixes_the_link(elvina: Record, tmp_path: Path) -> None:
    host = ShareHost.open(settings=ShareSettings("https://share.example.org", "https://viewer.example/"))
    made = create_share(elvina, host, candidates(elvina, now=NOW), now=NOW)
    assert made.uri.startswith("https://viewer.example/#shlink:/") and made.shlink.startswith("shlink:/")
    assert decode_link(made.uri) == decode_link(made.shlink)


# --- over HTTP: Carry's own server ------------------------------------------------------------------------------


def test_a_doctor_opens_the_link_and_the_patient_sees_it(
    elvina: Record, carry_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    carry_server.use(monkeypatch)
    host = ShareHost.open()
    assert host.public_base == f"{carry_server.url}/shl"
    made = create_share(elvina, host, candidates(elvina, now=NOW), label="Elvina", now=NOW)

    received = asyncio.run(open_shared(made.uri, recipient="Dr Rivera"))
    (bundle,) = received.bundles
    assert check_ips(bundle) == [] and received.label == "Elvina"
    titles = [title for title, _item, _rows, _empty in received_sections(received)]
    assert titles[:3] == ["Active problems", "Allergies and intolerances", "Medications"]
    problems = [r.item for r in received_sections(received)[0][2]]
    assert "Osteoporosis (disorder)" in problems

    added = merge_access(elvina, host)
    assert [a.sentence().split(" at ")[0] for a in added] == ["opened by Dr Rivera"]
    (row,) = share_links(elvina)
    assert [a.recipient for a in row.accesses] == ["Dr Rivera"]
    assert elvina.audit_log(action="share-opened")[0]["detail"]["recipient"] == "Dr Rivera"
    # Merged entries leave the host, and a second merge adds nothing.
    assert [e for e in host.store.access_since(0) if e.link_id == made.link_id] == []
    assert merge_access(elvina, host) == []


def test_passcode_wrong_then_right(elvina: Record, carry_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    carry_server.use(monkeypatch)
    host = ShareHost.open()
    made = create_share(elvina, host, candidates(elvina, now=NOW), passcode="tulip-42", now=NOW)
    with pytest.raises(PasscodeRefused, match="needs the passcode"):
        asyncio.run(open_shared(made.uri, recipient="Dr Rivera"))
    with pytest.raises(PasscodeRefused) as refused:
        asyncio.run(open_shared(made.uri, recipient="Mallory", passcode="guess"))
    assert refused.value.remaining == 4
    received = asyncio.run(open_shared(made.uri, recipient="Dr Rivera", passcode="tulip-42"))
    assert received.bundles
    sentences = [a.sentence() for a in merge_access(elvina, host)]
    assert sentences[0].startswith("wrong passcode from Mallory at ")
    assert sentences[1].startswith("opened by Dr Rivera at ")
    assert elvina.audit_log(action="share-passcode-refused")


def test_revoked_and_expired_links_stop_working(
    elvina: Record, carry_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    carry_server.use(monkeypatch)
    host = ShareHost.open()
    selection = candidates(elvina, now=NOW)
    made = create_share(elvina, host, selection, now=NOW)
    row = revoke(elvina, host, made.short_id)
    assert row.revoked_at and host_status(host, row) == "revoked"
    with pytest.raises(LinkInactive):
        asyncio.run(open_shared(made.uri, recipient="Dr Rivera"))
    assert host.store.files(made.link_id) == []  # the ciphertext is gone from the host
    assert elvina.audit_log(action="share-revoke")

    # A link that expires in a minute, then the minute passing on a clock the test moves: the same host routes
    # `carry serve` runs, in this process, decide by that clock.
    clock = TestClock(time.time())
    short = create_share(elvina, host, selection, expires=int(clock()) + 60, now=NOW)
    assert host_status(host, share_links(elvina)[0], now=clock()) == "active"
    url = decode_link(short.uri).url

    async def ask_host() -> httpx.Response:
        routes = httpx.ASGITransport(app=host.asgi(clock=clock))  # the routes `carry serve` mounts at /shl
        async with httpx.AsyncClient(transport=routes, base_url="http://carry.test") as client:
            return await client.post(f"/{short.link_id}", json={"recipient": "Dr Rivera"})

    assert asyncio.run(ask_host()).status_code == 200
    assert httpx.post(url, json={"recipient": "Dr Rivera"}).status_code == 200  # and `carry serve` hosts it
    clock.advance(61)
    refused = asyncio.run(ask_host())
    assert refused.status_code == 404 and refused.json()["reason"] == "expired"  # the host refuses it too
    with pytest.raises(LinkInactive, match="expired"):
        asyncio.run(open_shared(short.uri, recipient="Dr Rivera", now=clock()))
    assert share_links(elvina)[0].status(clock()) == "expired"
    assert host_status(host, share_links(elvina)[0], now=clock()) == "expired"
    # The two openings before it expired reach the patient (and leave the host, which the next test relies on).
    assert [a.recipient for a in merge_access(elvina, host)] == ["Dr Rivera", "Dr Rivera"]


def test_merging_leaves_another_records_entries_alone(
    elvina: Record, carry_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    carry_server.use(monkeypatch)
    host = ShareHost.open()
    other_path = make_record(tmp_path / "other.carry", [*HOSPITAL, "Karena_Pfeffer_*.json"])
    with Record.open(other_path, PASSPHRASE) as other:
        theirs = create_share(other, host, candidates(other, now=NOW), now=NOW)
        mine = create_share(elvina, host, candidates(elvina, now=NOW), now=NOW)
        asyncio.run(open_shared(theirs.uri, recipient="Dr Other"))
        asyncio.run(open_shared(mine.uri, recipient="Dr Mine"))
        assert [a.recipient for a in merge_access(elvina, host)] == ["Dr Mine"]
        # Elvina's merge must not drop the other record's entry, which it cannot read.
        assert [e.link_id for e in host.store.access_since(0)][:1] == [theirs.link_id]
        assert [a.recipient for a in merge_access(other, host)] == ["Dr Other"]
        assert merge_access(elvina, host) == [] and merge_access(other, host) == []


def test_keeping_a_received_summary_as_a_read_only_source(
    elvina: Record, carry_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    carry_server.use(monkeypatch)
    made = create_share(elvina, ShareHost.open(), candidates(elvina, now=NOW), label="Elvina", now=NOW)
    received = asyncio.run(open_shared(made.uri, recipient="Dr Rivera"))
    with Record.create(tmp_path / "doctor.carry", PASSPHRASE) as doctor:
        name, counts = keep_received(doctor, received)
        assert name == "Shared: Elvina" and counts.imported > 10
        (source,) = [s for s in doctor.sources() if s.kind == "shared"]
        rows = doctor.rows("Condition", source_id=source.id)
        assert "Osteoporosis (disorder)" in {r.display for r in rows}
        _name, again = keep_received(doctor, received)
        assert again.imported == 0 and again.unchanged == counts.imported
        assert doctor.audit_log(action="share-keep")


def test_access_keys_are_made_once_and_stay_in_the_record(elvina: Record) -> None:
    state = ShareState(elvina)
    private, public = state.access_keys()
    assert state.access_keys() == (private, public)
    assert "d" in private and "d" not in public


def test_each_item_says_which_source_it_came_from(tmp_path: Path) -> None:
    """Every shared item is named by a Provenance as coming from its own source (two portals here), the
    resources themselves go out as received (no meta.source added), and both PDFs show a Source column."""
    path = tmp_path / "two.carry"
    make_record(path, [*HOSPITAL, "Elvina_Lemke_*.json"], source="Riverside Hospital")
    with Record.open(path, PASSPHRASE) as record:
        selection = candidates(record, now=NOW)
        host = _host(tmp_path)
        made = create_share(record, host, selection, now=NOW)
        check_in = create_share(record, host, selection, now=NOW, expires=parse_expiry("15m"), kind=CHECK_IN)
    picked = selection.chosen()
    assert picked and all(c.sources == ("Riverside Hospital",) for c in picked)
    for share in (made, check_in):
        bundle = share.bundle
        (provenance,) = _resources(bundle, "Provenance")
        assert provenance["agent"][0]["who"] == {"display": "Riverside Hospital"}
        targets = {t["reference"] for t in provenance["target"]}
        by_key = {(e["resource"]["resourceType"], e["resource"].get("id")): e for e in bundle["entry"]}
        for c in picked:
            entry = by_key[(c.resource_type, c.resource["id"])]
            assert entry["fullUrl"] in targets, c.display
            assert entry["resource"].get("meta", {}).get("source") == c.resource.get("meta", {}).get("source")
        text = " ".join(_pdf_text(share.pdf).split())
        assert "Source" in text and "Riverside Hospital" in text
    assert check_ips(made.bundle) == []
    assert check_ktc(check_in.bundle) == []
    # Carry's own receiver reads the source back for each row.
    rows = [row for _title, _item, rows, _empty in summary_rows(made.bundle) for row in rows]
    assert rows and all(row.source == "Riverside Hospital" for row in rows)
