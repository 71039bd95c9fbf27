"""PDFs and photos as DocumentReferences: a real PDF made with fpdf2, real PNG and JPEG images made with Pillow; the
patient's title, date and person; the bytes kept whole inside the record; found by title; bad files refused with
one sentence and the record unchanged."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from importers.conftest import refusal
from fpdf import FPDF
from PIL import Image

from app.record import ImportRefused, Record, people
from app.record.imports import FileImportReport, Whose, import_path
from app.views import detail
from support.cli import one_line_refusal, run_carry
from support.records import ELVINA, PASSPHRASE
from sync.importers import proposed


def _pdf(path: Path, when: datetime = datetime(2023, 5, 17, 10, 30)) -> Path:
    pdf = FPDF()
    pdf.set_creation_date(when)
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 10, "Discharge letter: Riverside Hospital")
    path.write_bytes(bytes(pdf.output()))
    return path


def _jpeg(path: Path, stamp: str | None = "2022:08:09 14:15:16") -> Path:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    if stamp:
        exif[306] = stamp
    image.save(path, "JPEG", exif=exif.tobytes())
    return path


def _png(path: Path) -> Path:
    Image.new("RGB", (40, 30), (10, 120, 200)).save(path, "PNG")
    return path


def _document(record: Record) -> dict[str, Any]:
    (row,) = record.rows("DocumentReference")
    stored = record.get("DocumentReference", row.id)
    assert stored is not None
    value: dict[str, Any] = stored.json()
    return value


def test_a_pdf_keeps_its_bytes_the_patient_s_title_and_the_date_it_states(record: Record, tmp_path: Path,
                                                                          demo_dir: Path) -> None:  # fmt: skip
    record.import_file(demo_dir / ELVINA)
    path = _pdf(tmp_path / "discharge_letter_2023.pdf")
    assert proposed(path).title == "discharge letter 2023" and proposed(path).date == "2023-05-17"
    report = import_path(record, path, title="Discharge letter, Riverside Hospital")
    assert report.counts.imported == 1 and report.counts.invalid == 0
    assert isinstance(report, FileImportReport)
    assert report.notes == ("1 item that names no patient was put in the record of Mrs. Elvina Lemke.",)
    doc = _document(record)
    attachment = doc["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf" and base64.b64decode(attachment["data"]) == path.read_bytes()
    assert doc["description"] == "Discharge letter, Riverside Hospital" and doc["context"]["period"]["start"] == "2023-05-17"
    # Whose: the record's only person (the file names no patient).
    (elvina,) = people(record)
    assert elvina.admits(record.rows("DocumentReference")[0].source_id, doc["subject"]["reference"])
    assert [r.id for r in record.search("Riverside")] == [doc["id"]]  # found by its title
    assert record.rows("DocumentReference")[0].date == "2023-05-17"
    # Its page is headed by the patient's title (not by "Document brought in by the patient", its type).
    shown = detail(record, "DocumentReference", doc["id"])
    assert shown is not None and shown.title == "Discharge letter, Riverside Hospital"
    # The same file again adds nothing.
    assert import_path(record, path, title="Discharge letter, Riverside Hospital").counts.imported == 0


def test_photos_take_their_exif_date_or_the_patient_s(record: Record, tmp_path: Path) -> None:
    jpeg = _jpeg(tmp_path / "IMG_2041.jpg")
    assert proposed(jpeg).date == "2022-08-09"
    import_path(record, jpeg, whose=Whose(new=True, name="Ada Example"))
    doc = _document(record)
    assert doc["content"][0]["attachment"]["contentType"] == "image/jpeg" and doc["description"] == "IMG 2041"
    assert doc["context"]["period"]["start"] == "2022-08-09"
    png = _png(tmp_path / "rash.png")
    report = import_path(record, png, title="Rash on my arm", date="2024-02-03")
    assert report.counts.imported == 1
    row = next(r for r in record.rows("DocumentReference") if r.display == "Rash on my arm")
    assert row.date == "2024-02-03"


def test_bad_files_are_refused_with_one_sentence_and_nothing_changes(record: Record, tmp_path: Path) -> None:
    good = _pdf(tmp_path / "good.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(good[: len(good) // 2])
    assert "not a complete PDF" in refusal(record, cut)
    html = tmp_path / "letter.pdf"
    html.write_bytes(b"<!DOCTYPE html><html><body>Your session expired</body></html>")
    assert "letter.pdf: not imported" in refusal(record, html)
    broken = tmp_path / "photo.jpg"
    broken.write_bytes(_jpeg(tmp_path / "whole.jpg").read_bytes()[:300])
    assert "not a complete image" in refusal(record, broken)
    heic = tmp_path / "IMG_1.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    assert "HEIC" in refusal(record, heic) and "JPEG or PNG" in refusal(record, heic)
    with pytest.raises(ImportRefused, match="not a date"):
        import_path(record, _png(tmp_path / "x.png"), date="18/03/2024")
    assert record.rows("DocumentReference") == []


def test_carry_import_with_title_and_date(tmp_path: Path, demo_dir: Path) -> None:
    env = {"CARRY_RECORD": str(tmp_path / "r.carry"), "CARRY_PASSPHRASE": PASSPHRASE}
    assert run_carry("init", env=env).returncode == 0
    assert run_carry("import", str(demo_dir / ELVINA), env=env).returncode == 0
    pdf = _pdf(tmp_path / "scan.pdf")
    done = run_carry("import", str(pdf), "--title", "Bone density report", "--date", "2021-11-02", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 new" in done.stdout
    found = run_carry("search", "density", "--json", env=env)
    assert '"DocumentReference"' in found.stdout and "Bone density report" in found.stdout
    refused = run_carry("import", str(_png(tmp_path / "a.png")), "--date", "2999-01-01", env=env)
    assert "not a date Carry can file" in one_line_refusal(refused)
    both = run_carry("import", str(pdf), str(pdf), "--title", "x", env=env)
    assert both.returncode == 2 and "one file at a time" in both.stderr


def test_a_large_image_is_refused_before_it_is_read(record: Record, tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.seek(51 * 1024 * 1024)
        out.write(b"\x00")
    assert "larger than any document" in refusal(record, big)
