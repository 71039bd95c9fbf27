"""Independent readers: links made by `carry share` (IPS, with a passcode) and `carry share --ktc` (the CMS Kill the
Clipboard profile), served by the real `carry serve`, opened by npm kill-the-clipboard's SHLViewer and every
resource checked by @medplum/core's validateResource (tests/node, installed by .ci/run). The check-in Bundle is
then held to the profile's rules, and its PDF is read with pypdf."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pypdf
import pytest

from app.cli import main
from support.records import PASSPHRASE
from sync.share import decode_link, describe, patient_name

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CODE = "7301-front"


def _node() -> str:
    node = shutil.which("node")
    if node and (NODE_DIR / "node_modules" / "kill-the-clipboard").is_dir():
        return node
    reason = "INDEPENDENT READERS NOT RUN: node or tests/node/node_modules is missing (npm ci in tests/node)."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _read(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run([_node(), str(NODE_DIR / "read_links.mjs")], input=json.dumps({"links": links}).encode(),
                          capture_output=True, timeout=120, cwd=NODE_DIR)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def _share(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    code = main(["share", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip(), err


def test_both_kinds_open_in_kill_the_clipboard_and_validate(
    elvina_path: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", CODE)
    carry_server.use(monkeypatch)
    ips_link, _ = _share(capsys, "--passcode")
    ktc_link, err = _share(capsys, "--ktc", "--label", "Elvina Lemke's records")
    assert "expires" in err and "passcode" not in err
    read = _read([{"uri": ips_link, "recipient": "Dr. Rivera", "passcode": CODE},
                  {"uri": ktc_link, "recipient": "Riverside Clinic front desk"}])  # fmt: skip
    ips, ktc = read
    assert ips["flag"] == "P" and ktc["flag"] == "U"
    assert ips["problems"] == [] and ktc["problems"] == []
    assert [b["type"] for b in ips["bundles"]] == ["document"]
    assert len(ktc["bundles"]) == 1
    bundle = ktc["bundles"][0]

    # The profile's rules, read off the Bundle the independent library decrypted.
    assert bundle["type"] == "collection" and isinstance(bundle["timestamp"], str)
    resources = [e["resource"] for e in bundle["entry"]]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert len(patients) == 1 and all(patients[0].get(k) for k in ("name", "birthDate", "gender", "identifier"))
    assert not any((r.get("meta") or {}).get("profile") for r in resources)
    documents = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    assert len(documents) == 1
    doc = documents[0]["resource"]
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert doc["type"]["coding"][0]["code"] == "60591-5" and doc["status"] == "current"
    assert doc["category"][0]["coding"][0]["code"] == "patient-shared"
    assert doc["subject"]["reference"] == patient_url and doc["author"][0]["reference"] == patient_url
    assert doc["meta"]["security"][0]["code"] == "PATAST"
    attachment = doc["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(base64.b64decode(attachment["data"])))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in pdf.pages)
    others = [r for r in resources if r["resourceType"] not in ("Patient", "DocumentReference")]
    assert len(others) >= 10
    assert {r["resourceType"] for r in others} >= {"Condition", "AllergyIntolerance", "MedicationRequest"}
    assert patient_name(patients[0]) in text
    for resource in others:
        shown = " ".join(describe(resource).item.split())
        assert shown in text, (resource["resourceType"], shown)

    # The patient sees the scanner's GET, with the recipient it gave.
    assert main(["shares", "--json"]) == 0
    listed = json.loads(capsys.readouterr()[0])
    ktc_id = decode_link(ktc_link).url.rsplit("/", 1)[1]
    check_in = next(link for link in listed if link["link_id"] == ktc_id)
    assert [a["recipient"] for a in check_in["accesses"]] == ["Riverside Clinic front desk"]
    assert check_in["kind"] == "check-in"

    # And Carry's own receiver reads the check-in kind too, whose records first.
    monkeypatch.delenv("CARRY_PASSPHRASE")
    assert main(["open", ktc_link, "--recipient", "Dr. Rivera"]) == 0
    out = capsys.readouterr()[0]
    assert out.splitlines()[1].startswith("Elvina Lemke, born 1953-06-02, female")
    assert "Problems:" in out and "Osteoporosis" in out



def test_a_correction_is_carried_into_both_kinds_as_the_patient_s_own_words(
    elvina_path: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from app.record import Record
    from app.shares import candidates

    with Record.open(elvina_path, PASSPHRASE) as record:
        problem = next(c for c in candidates(record).chosen() if c.section == "problems")
    item = f"Condition/{problem.resource['id']}"
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    carry_server.use(monkeypatch)
    words = "This is wrong: it was ruled out by my cardiologist in 2022."
    assert main(["note", item, words]) == 0
    assert "is kept beside" in capsys.readouterr()[0]
    ips_link, _ = _share(capsys)
    ktc_link, _ = _share(capsys, "--ktc")
    ips, ktc = _read([{"uri": ips_link, "recipient": "Dr. Rivera"}, {"uri": ktc_link, "recipient": "Front desk"}])
    assert ips["problems"] == [] and ktc["problems"] == []  # @medplum/core validates every resource, notes too

    for read, kind in ((ips, "IPS"), (ktc, "check-in")):
        bundle = read["bundles"][0]
        by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        stories = [r for r in by_url.values() if r["resourceType"] == "DocumentReference"
                   and r["type"]["coding"][0]["code"] == "51855-5"]  # fmt: skip
        assert len(stories) == 1, kind
        story = stories[0]
        assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PATAST",
                "display": "patient asserted"} in story["meta"]["security"], kind  # fmt: skip
        patient_url = next(u for u, r in by_url.items() if r["resourceType"] == "Patient")
        assert story["author"][0]["reference"] == patient_url and story["subject"]["reference"] == patient_url
        (related,) = story["context"]["related"]
        about = by_url[related["reference"]]
        assert about["resourceType"] == "Condition" and about["id"] == problem.resource["id"], kind
        assert "note" not in about or words not in json.dumps(about)  # the source's copy goes as it was received
        attachment = story["content"][0]["attachment"]
        data = base64.b64decode(attachment["data"])
        if kind == "IPS":
            assert attachment["contentType"].startswith("text/plain") and data.decode() == words
            problems = next(s for s in next(r for r in by_url.values() if r["resourceType"] == "Composition")["section"]
                            if s["code"]["coding"][0]["code"] == "11450-4")  # fmt: skip
            refs = [e["reference"] for e in problems["entry"]]
            assert refs.index(related["reference"]) + 1 == refs.index(next(u for u, r in by_url.items() if r is story))
            assert "ruled out by my cardiologist" in problems["text"]["div"]
        else:
            assert attachment["contentType"] == "application/pdf"
            text = " ".join(" ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages)
            assert "ruled out by my cardiologist in 2022" in text and "NOTES FROM THE PATIENT" in text
            assert words in story["description"]  # in words too, for a receiver that shows no PDF
            assert story["category"][0]["coding"][0]["code"] == "patient-shared"
