"""Back from an item opened far down the timeline shows the timeline where it was: the opened item's row is on screen
again (past the first page of rows, so the pages loaded while scrolling are loaded again), at 390 and 1280 px."""

from __future__ import annotations

from typing import Any

import pytest
from support.records import ELVINA

from ui.browser_support import DESKTOP, PHONE, by_id, open_unlocked, shot
from ui.test_ui_browser import expect, nav

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

FAR = 170  # past the first page of 150 entries: the row exists only once a second page was loaded by scrolling


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server([ELVINA])


def _in_view(page: Any, row: Any) -> bool:
    """The row is wholly inside the timeline's list on screen."""
    listed = by_id(page, "timeline-list").bounding_box()
    box = row.bounding_box() if row.count() else None
    if listed is None or box is None:
        return False
    return bool(box["y"] >= listed["y"] - 1 and box["y"] + box["height"] <= listed["y"] + listed["height"] + 1)


def _scroll_until(page: Any, identifier: str) -> Any:
    """Turn the mouse wheel over the list until the row `identifier` is wholly on screen."""
    listed = by_id(page, "timeline-list").bounding_box()
    assert listed is not None
    page.mouse.move(listed["x"] + listed["width"] / 2, listed["y"] + listed["height"] / 2)
    row = by_id(page, identifier)
    for _ in range(200):
        if _in_view(page, row):
            return row
        page.mouse.wheel(0, 400 if row.count() == 0 else 120)
        page.wait_for_timeout(120)
    raise AssertionError(f"{identifier} never came on screen")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_back_from_an_item_far_down_the_timeline_shows_its_row_again(elvina: Any, browser: Any,
                                                                      viewport: Any) -> None:  # fmt: skip
    context = browser.new_context(viewport=viewport)
    try:
        page = open_unlocked(context, elvina.url)
        ex = expect()
        nav(page, "Timeline")
        ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
        row = _scroll_until(page, f"entry-{FAR}")
        title = row.inner_text().split("\n")[0]
        row.click()
        ex(by_id(page, "detail-title")).to_be_visible()
        # The app's Back: the same row, on screen, without scrolling.
        page.get_by_role("button", name="Back").click()
        ex(page.get_by_role("heading", name="Timeline", level=1)).to_be_visible()
        again = by_id(page, f"entry-{FAR}")
        ex(again).to_contain_text(title)
        page.wait_for_function("() => true")  # one more frame: the list has scrolled
        assert _in_view(page, again), "the opened item's row is not on screen after Back"
        ex(page.get_by_role("heading", name="November 2020")).to_have_count(0)  # not the top of the list
        shot(page, f"timeline-place-back-{viewport['width']}")
        # The browser's Back does the same.
        again.click()
        ex(by_id(page, "detail-title")).to_be_visible()
        page.go_back()
        again = by_id(page, f"entry-{FAR}")
        ex(again).to_contain_text(title)
        assert _in_view(page, again), "the opened item's row is not on screen after the browser's Back"
        # Going to the timeline afresh (not Back from an item) starts at the top.
        nav(page, "Summary")
        nav(page, "Timeline")
        ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
    finally:
        context.close()
