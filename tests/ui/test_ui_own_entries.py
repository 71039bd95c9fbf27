"""The patient's own entries in headless Chromium, at 390 px and 1280 px: add a blood pressure from the summary,
see it on the vital signs chart and the item page as "Added by you", see a bad one refused in one sentence, and
find it among what the Share screen offers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ui.browser_support import DESKTOP, PHONE, enter_text, open_app, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture(params=[PHONE, DESKTOP], ids=["390", "1280"])
def context(browser: Any, request: pytest.FixtureRequest) -> Any:
    made = browser.new_context(viewport=request.param)
    yield made
    made.close()


def test_add_a_blood_pressure_see_it_added_by_you_and_share_it(make_server: Any, context: Any) -> None:
    server = make_server(ELVINA)
    page = open_app(context, server.url)
    width = page.viewport_size["width"]
    ex = expect()
    unlock(page)
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    page.get_by_role("button", name="Add a reading").first.click()
    ex(page.locator('[flt-semantics-identifier="entry-title"]')).to_be_visible()

    # A pressure the wrong way round: one sentence, nothing saved, the form still there.
    enter_text(page, "Value", "80/130")
    page.get_by_role("button", name="Save").click()
    ex(page.get_by_text("must be greater than the diastolic", exact=False).first).to_be_visible()
    ex(page.locator('[flt-semantics-identifier="entry-title"]')).to_be_visible()
    shot(page, f"entries-{width}-01-refused")

    enter_text(page, "Value", "143/91")
    page.get_by_role("button", name="Save").click()
    ex(page.get_by_text("Saved: Blood pressure 143/91", exact=False).first).to_be_visible()
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    shot(page, f"entries-{width}-02-saved")

    nav(page, "Results")
    page.get_by_role("button", name="Vital signs").click()
    page.get_by_role("button", name="Blood", exact=False).first.click()
    chart = page.locator('[flt-semantics-identifier="lab-chart"]')
    ex(chart).to_be_visible()
    ex(chart).to_contain_text("of them added by you")
    mine = page.get_by_role("button", name="Systolic 143 mmHg", exact=False).first
    ex(mine).to_contain_text("Added by you")
    shot(page, f"entries-{width}-03-chart")
    mine.click()
    card = page.locator('[flt-semantics-identifier="own-entry"]')
    ex(card).to_have_accessible_name(re.compile(r"^Added by you.*Version 1, added.*143/91 mmHg", re.S))
    shot(page, f"entries-{width}-04-item")

    # Edit: the item shows the new version, and the old one stays readable in its history.
    page.get_by_role("button", name="Edit").click()
    ex(page.locator('[flt-semantics-identifier="entry-title"]')).to_have_accessible_name("Edit your entry")
    enter_text(page, "Value", "141/90")
    page.get_by_role("button", name="Save").click()
    ex(card).to_have_accessible_name(re.compile(r"Version 2, edited.*141/90 mmHg.*Version 1, added.*143/91 mmHg", re.S))
    shot(page, f"entries-{width}-05-edited")

    nav(page, "Share")
    ex(page.get_by_role("heading", name="What to share")).to_be_visible()
    # Offered by its short name and readable value, as every result is (app.views.share).
    offered = page.get_by_role("checkbox", name=re.compile(r"^Blood pressure: 141.90 mmHg · .*Added by you$"))
    ex(offered).to_have_count(1)
    ex(offered).not_to_be_checked()  # a vital sign is offered, not ticked
    offered.click()
    ex(offered).to_be_checked()
    shot(page, f"entries-{width}-06-share")

    # Delete: gone from the chart and the share screen.
    nav(page, "Results")
    page.get_by_role("button", name="Vital signs").click()
    page.get_by_role("button", name="Blood", exact=False).first.click()
    page.get_by_role("button", name="Systolic 141 mmHg", exact=False).first.click()
    page.get_by_role("button", name="Delete").click()
    ex(page.get_by_text("Deleted: Blood pressure 141/90 mmHg", exact=False).first).to_be_visible()
    ex(page.locator('[flt-semantics-identifier="lab-chart"]')).not_to_contain_text("added by you")
    ex(page.get_by_role("button", name="Systolic 141 mmHg", exact=False)).to_have_count(0)
    shot(page, f"entries-{width}-07-deleted")
