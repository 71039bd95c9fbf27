"""Searching the directory: words of name, alias, city, state, ZIP and vendor; accents and case; ranking; filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.directory import (
    PUBLIC_SMART_SANDBOX,
    SANDBOX_NAME,
    SHIPPED_DIRECTORY,
    Directory,
    Place,
    Provider,
    read_list_file,
    sandbox_provider,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "directory"


def _p(name: str, base: str, *, city: str = "", state: str = "", zip: str = "", vendor: str = "Epic", key: str = "epic",
       aliases: tuple[str, ...] = ()) -> Provider:  # fmt: skip
    return Provider(name, base, vendor, key, (Place(city, state, zip),) if city or state or zip else (), aliases)


@pytest.fixture(scope="module")
def directory() -> Directory:
    providers = [
        _p("Massachusetts General Hospital", "https://mgh.example/fhir", city="Boston", state="MA", zip="02114",
           aliases=("Mass General",)),
        _p("Boston Children's Hospital", "https://bch.example/fhir", city="Boston", state="MA", zip="02115"),
        _p("Hôpital Saint-Éloi", "https://eloi.example/fhir", city="Montréal", state="QC"),
        _p("General Hospital of Springfield", "https://springfield.example/fhir", city="Springfield", state="IL",
           vendor="Oracle Health", key="oracle-health"),
        _p("Springfield Family Medicine", "https://sfm.example/fhir", city="Springfield", state="MA", zip="01103",
           vendor="MEDITECH", key="meditech"),
        _p("Lakeside Clinic", "https://lake.example/fhir", state="WI", vendor="Practice Fusion", key="practice-fusion"),
    ]  # fmt: skip
    return Directory(providers, pinned=[PUBLIC_SMART_SANDBOX])


def names(found: list[Provider]) -> list[str]:
    return [p.name for p in found]


def test_name_words_in_any_order_and_prefixes(directory: Directory) -> None:
    assert names(directory.search("general massachusetts")) == ["Massachusetts General Hospital"]
    assert names(directory.search("mass gen")) == ["Massachusetts General Hospital"]


def test_alias(directory: Directory) -> None:
    assert names(directory.search("mass general"))[0] == "Massachusetts General Hospital"


def test_case_accents_and_apostrophes_do_not_matter(directory: Directory) -> None:
    for query in ("hopital saint eloi", "HÔPITAL", "saint-éloi", "montreal", "MONTRÉAL"):
        assert names(directory.search(query)) == ["Hôpital Saint-Éloi"], query
    assert names(directory.search("childrens")) == ["Boston Children's Hospital"]


def test_city_state_zip_and_vendor(directory: Directory) -> None:
    assert set(names(directory.search("boston"))) == {"Massachusetts General Hospital", "Boston Children's Hospital"}
    assert names(directory.search("02115")) == ["Boston Children's Hospital"]
    assert names(directory.search("wi")) == ["Lakeside Clinic"]
    assert names(directory.search("wisconsin")) == ["Lakeside Clinic"]  # state names too
    assert names(directory.search("meditech")) == ["Springfield Family Medicine"]
    assert names(directory.search("practice fusion")) == ["Lakeside Clinic"]
    assert names(directory.search("oracle health")) == ["General Hospital of Springfield"]


def test_words_must_start_a_word(directory: Directory) -> None:
    assert directory.search("eneral") == []  # a match inside a word is noise while typing
    assert directory.search("zzzz") == []


def test_best_matches_first(directory: Directory) -> None:
    # A name match beats a place match; a name that starts with the phrase beats one that contains it.
    assert names(directory.search("springfield")) == ["Springfield Family Medicine", "General Hospital of Springfield"]
    assert names(directory.search("general hospital"))[0] == "General Hospital of Springfield"
    assert names(directory.search("boston"))[0] == "Boston Children's Hospital"


def test_state_and_vendor_filters(directory: Directory) -> None:
    assert names(directory.search("springfield", state="IL")) == ["General Hospital of Springfield"]
    assert names(directory.search("springfield", state="massachusetts")) == ["Springfield Family Medicine"]
    assert set(names(directory.search(state="ma", limit=None))) == {
        "Massachusetts General Hospital", "Boston Children's Hospital", "Springfield Family Medicine"
    }  # fmt: skip
    assert names(directory.search("springfield", vendor="oracle-health")) == ["General Hospital of Springfield"]
    assert names(directory.search("springfield", vendor="Cerner")) == ["General Hospital of Springfield"]
    assert names(directory.search(vendor="practice fusion")) == ["Lakeside Clinic"]
    assert names(directory.search(vendor="SMART Health IT")) == [PUBLIC_SMART_SANDBOX.name]  # an "other" vendor


def test_limit_and_listing_without_a_query(directory: Directory) -> None:
    assert len(directory.search("hospital", limit=2)) == 2
    everything = directory.search("", limit=None)
    assert len(everything) == len(directory) == 7
    assert everything[0] == PUBLIC_SMART_SANDBOX  # pinned first, then by name
    assert names(everything[1:3]) == ["Boston Children's Hospital", "General Hospital of Springfield"]


def test_with_extra_pins_the_local_sandbox_and_shares_the_rest(directory: Directory) -> None:
    local = sandbox_provider("http://127.0.0.1:40123/fhir")
    extended = directory.with_extra([local])
    assert len(extended) == len(directory) + 1
    assert extended.search("", limit=2) == [local, PUBLIC_SMART_SANDBOX]
    assert extended.search("sandbox", limit=2) == [local, PUBLIC_SMART_SANDBOX]
    assert names(extended.search("carry demo")) == [SANDBOX_NAME]
    assert len(directory.search("sandbox")) == 1  # the original is unchanged
    assert names(extended.search("mass general")) == ["Massachusetts General Hospital"]


def test_with_extra_drops_the_same_entry_further_down() -> None:
    entry = _p("Twin Clinic", "https://twin.example/fhir")
    directory = Directory([entry, _p("Other", "https://other.example/fhir")]).with_extra([entry])
    assert names(directory.search("twin")) == ["Twin Clinic"] and len(directory) == 2


def test_load_shipped_data_and_the_public_sandbox(tmp_path: Path) -> None:
    directory = Directory.load(cache_dir=tmp_path)
    assert PUBLIC_SMART_SANDBOX in directory.search("smart sandbox")
    assert PUBLIC_SMART_SANDBOX.fhir_base == "https://launch.smarthealthit.org/v/r4/fhir"
    assert names(directory.search("iowa medicaid")) == ["Iowa Medicaid"]
    assert names(directory.search("medicaid", state="MA")) == ["Massachusetts Medicaid"]
    shipped = json.loads(SHIPPED_DIRECTORY.read_text())
    assert len(directory) == len(shipped["providers"]) + 1
    assert all(info.shipped and info.licence.startswith("Apache-2.0") for info in directory.lists)


def test_load_with_a_downloaded_index_uses_its_search_columns(tmp_path: Path) -> None:
    built = Directory(read_list_file(DATA / "oracle_style_patient_r4_endpoints.json", vendor="Oracle Health"))
    built.write_index(tmp_path / "index.json", sources=[{"id": "oracle", "vendor": "Oracle Health"}])
    loaded = Directory.load(cache_dir=tmp_path)
    assert names(loaded.search("desert sun phoenix")) == ["Desert Sun Hospital"]
    assert names(loaded.search("colorado")) == ["Mountain View Clinic"]
    assert loaded.search("lakeside", vendor="oracle-health")[0].place == Place("Springfield", "IL", "62701")
    assert [info.id for info in loaded.lists if not info.shipped] == ["oracle"]
    # The same index read without its search columns gives the same answers.
    document = json.loads((tmp_path / "index.json").read_text())
    del document["search"]
    (tmp_path / "index.json").write_text(json.dumps(document))
    again = Directory.load(cache_dir=tmp_path)
    assert names(again.search("desert sun phoenix")) == ["Desert Sun Hospital"] and len(again) == len(loaded)


def test_a_downloaded_entry_equal_to_a_shipped_one_is_listed_once(tmp_path: Path) -> None:
    iowa = next(p for p in Directory.load(cache_dir=tmp_path) if p.name == "Iowa Medicaid")
    Directory([iowa, _p("Elsewhere", "https://else.example/fhir")]).write_index(tmp_path / "index.json")
    assert names(Directory.load(cache_dir=tmp_path).search("iowa")) == ["Iowa Medicaid"]


def test_a_broken_downloaded_index_is_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text('{"format": "carry-provider-directory", "version": 1, "providers": [[1]')
    directory = Directory.load(cache_dir=tmp_path)
    assert directory.warnings and "carry providers --refresh" in directory.warnings[0]
    assert names(directory.search("iowa medicaid")) == ["Iowa Medicaid"]  # shipped data still there
