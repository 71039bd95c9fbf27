"""Issue 20: unlocking a record from an older Carry updates it first (migration 18 rewrites every resource: about 23 s
for 300,000), and the unlock screen says so while it runs ("Updating your record for this version of Carry… n %",
with a bar), then the summary opens; at 1280 px and 390 px, against a real `carry serve` and a real record left at
schema 17 (its JSON stored as text, one demo patient a hundred times over).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.record import Record
from app.record.schema import latest_version
from support.records import PASSPHRASE, record_before_packing

from ui.browser_support import DESKTOP, PHONE, enter_text, open_app, shot

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

_UPDATING = re.compile(r"^Updating your record for this version of Carry… \d{1,3}\s%$")  # a no-break space


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_unlock_screen_says_how_far_an_update_is(make_server: Any, browser: Any, viewport: Any) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    server = make_server(create=False)
    record_before_packing(server.record, 100)
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, server.url)
        expect(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        enter_text(page, "Passphrase", PASSPHRASE)
        page.get_by_role("button", name="Unlock", exact=True).click()
        expect(page.get_by_text(_UPDATING)).to_be_visible()
        shot(page, f"record-update-{viewport['width']}")
        expect(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible(timeout=90_000)
        expect(page.get_by_text(_UPDATING)).to_have_count(0)
    finally:
        context.close()
    with Record.open(server.record, PASSPHRASE) as record:  # updated for good: the next unlock has nothing to do
        heard: list[float] = []
        record.close()
        with Record.open(server.record, PASSPHRASE, progress=heard.append) as again:
            assert again.schema_version == latest_version()
        assert heard == []
