"""Refreshing the vendor lists from a real HTTP server on 127.0.0.1 (no outside network is used)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from support.servers import serving

from sync.directory import (
    Directory,
    DirectoryError,
    ListSource,
    RefreshFailed,
    load_sources,
    refresh,
)
from app.cli import main
from sync.directory.cache import ListCache
from sync.http import HttpClient, RetryPolicy

DATA = Path(__file__).resolve().parent.parent / "data" / "directory"
LANTERN = (DATA / "Example_Health_Systems_Inc_EndpointSources.json").read_bytes()
ORACLE = (DATA / "oracle_style_patient_r4_endpoints.json").read_bytes()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    etag: str = ""
    cut_short: bool = False  # announce more bytes than are sent, then close
    location: str = ""


@dataclass
class ListServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, If-None-Match)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server() -> Iterator[ListServer]:
    state = ListServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            state.seen.append((self.path, self.headers.get("If-None-Match", "")))
            route = state.routes.get(self.path, Route(b"not here", 404))
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(route.body) + (1000 if route.cut_short else 0)))
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.location:
                self.send_header("Location", route.location)
            self.end_headers()
            self.wfile.write(route.body)
            if route.cut_short:
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as state.base:
        yield state


def quick_client() -> HttpClient:
    return HttpClient(timeout=5.0, retry=RetryPolicy(attempts=1))


def sources(server: ListServer) -> list[ListSource]:
    return [
        ListSource("example-health", "Example Health Systems", server.url("/lantern.json")),
        ListSource("oracle", "Oracle Health", server.url("/oracle.json")),
    ]


def shrunk_lantern(keep: int) -> bytes:
    rows = json.loads(LANTERN)["Endpoints"]
    return json.dumps({"Endpoints": rows[:keep]}).encode()


@pytest.mark.asyncio
async def test_refresh_downloads_caches_and_indexes(server: ListServer, tmp_path: Path) -> None:
    server.routes["/lantern.json"] = Route(LANTERN, etag='W/"1"')
    server.routes["/oracle.json"] = Route(ORACLE)
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert [r.status for r in report.results] == ["updated", "updated"]
    assert not report.failed and report.failure_sentence() == ""
    assert "from 2 vendor lists (2 updated)" in report.summary()
    assert (tmp_path / "lists" / "oracle.json").read_bytes() == ORACLE  # kept as downloaded
    directory = Directory.load(cache_dir=tmp_path)
    assert [p.name for p in directory.search("desert sun")] == ["Desert Sun Hospital"]
    assert directory.search("desert sun")[0].vendor_key == "oracle-health"
    assert [p.name for p in directory.search("eloi")] == ["Hôpital Saint-Éloi"]
    assert report.providers == len(directory) - len(Directory.load(cache_dir=tmp_path / "empty"))
    assert {i.id for i in directory.lists if not i.shipped} == {"example-health", "oracle"}


@pytest.mark.asyncio
async def test_an_unchanged_list_is_not_downloaded_again(server: ListServer, tmp_path: Path) -> None:
    server.routes["/lantern.json"] = Route(LANTERN, etag='W/"1"')
    server.routes["/oracle.json"] = Route(ORACLE)
    await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert [r.status for r in report.results] == ["unchanged", "updated"]
    assert ("/lantern.json", 'W/"1"') in server.seen
    assert "1 unchanged" in report.summary()


@pytest.mark.asyncio
async def test_a_failed_list_keeps_its_previous_copy_and_is_named(server: ListServer, tmp_path: Path) -> None:
    server.routes["/lantern.json"] = Route(LANTERN)
    server.routes["/oracle.json"] = Route(ORACLE)
    await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    before = (tmp_path / "lists" / "example-health.json").read_bytes()

    server.routes["/lantern.json"] = Route(b"upstream broke", 503)
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert [r.status for r in report.results] == ["failed", "updated"]
    assert report.failure_sentence() == (
        "Could not refresh 1 list, so the previous copy is kept: Example Health Systems (the server answered 503)."
    )
    assert (tmp_path / "lists" / "example-health.json").read_bytes() == before
    assert Directory.load(cache_dir=tmp_path).search("eloi")  # still searchable


@pytest.mark.asyncio
async def test_a_list_that_shrank_by_more_than_a_fifth_is_refused(server: ListServer, tmp_path: Path) -> None:
    server.routes["/lantern.json"] = Route(LANTERN)
    server.routes["/oracle.json"] = Route(ORACLE)
    await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    cached = ListCache(tmp_path).get("example-health")
    assert cached is not None and cached.entries == 6

    server.routes["/lantern.json"] = Route(shrunk_lantern(2))  # 2 usable entries where there were 6
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert report.results[0].status == "refused"
    assert "shrank from 6 to 2 entries" in report.failure_sentence()
    assert ListCache(tmp_path).get("example-health") == cached
    assert Directory.load(cache_dir=tmp_path).search("riverside")  # the old copy is still indexed

    server.routes["/lantern.json"] = Route(shrunk_lantern(5))  # 5 of 6: within a fifth, accepted
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert report.results[0].status == "updated" and report.results[0].entries == 5


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(b'{"Endpoints": [{"URL": "https://a.example/fhir", "Organiz'), "the download is not valid JSON"),
        (Route(b'{"Endpoints": []}'), "the download holds no usable FHIR R4 endpoints"),
        (Route(b"<html>Moved to our new portal</html>"), "the download is not valid JSON"),
        (Route(LANTERN, cut_short=True), "the connection dropped"),
        (Route(b"", 404), "the server answered 404"),
    ],
)
async def test_broken_downloads_are_refused(server: ListServer, tmp_path: Path, route: Route, reason: str) -> None:
    server.routes["/lantern.json"] = route
    server.routes["/oracle.json"] = Route(ORACLE)
    report = await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert report.results[0].status == "failed"
    assert reason in report.results[0].reason
    assert ListCache(tmp_path).get("example-health") is None


@pytest.mark.asyncio
async def test_when_every_list_fails_nothing_changes(server: ListServer, tmp_path: Path) -> None:
    expected = (
        r"Could not refresh 2 lists, so their previous copies are kept: "
        r"Example Health Systems, Oracle Health \(the server answered 404\)\."
    )
    with pytest.raises(RefreshFailed, match=expected):
        await refresh(sources(server), cache_dir=tmp_path, http=quick_client())
    assert not (tmp_path / "index.json").exists()


@pytest.mark.asyncio
async def test_plain_http_is_refused_except_on_this_machine(tmp_path: Path) -> None:
    source = ListSource("insecure", "Somebody", "http://lists.example.org/endpoints.json")
    with pytest.raises(RefreshFailed, match="not an https address"):
        await refresh([source], cache_dir=tmp_path, http=quick_client())


@pytest.mark.asyncio
async def test_redirects_are_followed_a_few_times(server: ListServer, tmp_path: Path) -> None:
    server.routes["/old.json"] = Route(b"", 301, location="/oracle.json")
    server.routes["/oracle.json"] = Route(ORACLE)
    server.routes["/loop.json"] = Route(b"", 302, location="/loop.json")
    listed = [
        ListSource("oracle", "Oracle Health", server.url("/old.json")),
        ListSource("loop", "Loopy", server.url("/loop.json")),
    ]
    report = await refresh(listed, cache_dir=tmp_path, http=quick_client())
    assert [r.status for r in report.results] == ["updated", "failed"]
    assert report.results[1].reason == "the server redirected too many times"


def test_default_sources_are_https_and_well_formed() -> None:
    chosen = load_sources()
    assert len(chosen) >= 10
    assert all(s.url.startswith("https://") for s in chosen)
    assert {"Epic", "Oracle Health", "athenahealth", "MEDITECH", "eClinicalWorks"} <= {s.vendor for s in chosen}


def test_sources_file_errors_are_plain(tmp_path: Path) -> None:
    bad = tmp_path / "sources.json"
    bad.write_text('{"sources": [{"vendor": "no id or url"}]}')
    with pytest.raises(DirectoryError, match="is not a list of provider lists"):
        load_sources(bad)
    bad.write_text('{"sources": [{"id": "../escape", "url": "https://x.example"}]}')
    with pytest.raises(DirectoryError, match="not usable"):
        load_sources(bad)
    with pytest.raises(DirectoryError, match="Cannot read"):
        load_sources(tmp_path / "missing.json")


# --- the command line: carry providers --refresh ---------------------------------------------------------------------


@pytest.fixture
def cli_sources(server: ListServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    listed = tmp_path / "sources.json"
    listed.write_text(
        json.dumps({"sources": [{"id": s.id, "vendor": s.vendor, "url": s.url} for s in sources(server)]})
    )
    monkeypatch.setenv("CARRY_DIRECTORY_SOURCES", str(listed))
    monkeypatch.setenv("CARRY_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "directory"


def test_cli_refresh_then_search(server: ListServer, cli_sources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.routes["/lantern.json"] = Route(LANTERN)
    server.routes["/oracle.json"] = Route(ORACLE)
    assert main(["providers", "--refresh"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "Refreshed the provider directory from 2 vendor lists (2 updated)" in err
    assert (cli_sources / "index.json").exists()

    assert main(["providers", "desert", "sun", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["city"], p["state"], p["vendor_key"]) for p in found] == [
        ("Desert Sun Hospital", "Phoenix", "AZ", "oracle-health")
    ]


def test_cli_refresh_reports_failed_lists_and_exits_1(
    server: ListServer, cli_sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/oracle.json"] = Route(ORACLE)  # /lantern.json answers 404
    assert main(["providers", "--refresh", "lakeside"]) == 1
    out, err = capsys.readouterr()
    assert "Could not refresh 1 list, so the previous copy is kept: Example Health Systems (the server answered 404)." in err
    assert out.startswith("Lakeside Regional Medical Center — Springfield, IL 62701 — Oracle Health\n")


def test_cli_refresh_with_every_list_failing(
    server: ListServer, cli_sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["providers", "--refresh"]) == 1
    assert capsys.readouterr().err == (
        "carry: Could not refresh 2 lists, so their previous copies are kept: "
        "Example Health Systems, Oracle Health (the server answered 404).\n"
    )
