"""Whose record, in headless Chromium at 1280 and 390 px (issue 12): a child's records imported into a parent's
record. Both persons are listed with birth date and sources; the record opens on the person it was made for; the
top bar always names whose record is on screen; switching shows the child's record and none of the parent's, and
the share screen names whose summary it is before any link is made; merging the two and splitting them again
works from "Whose record".
"""

from __future__ import annotations

from typing import Any

import pytest
from support.people import write_family
from ui.browser_support import DESKTOP, PHONE, open_app, shot
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture(scope="module")
def family(make_server: Any) -> Any:
    server = make_server(create=False)
    write_family(server.record)
    return server


def _whose(page: Any) -> Any:
    return page.locator('[flt-semantics-identifier="whose-record"]')


def _about(page: Any, n: int) -> Any:
    return page.locator(f'[flt-semantics-identifier="person-about-{n}"]')


def _problems(page: Any) -> Any:
    return page.locator('[flt-semantics-identifier="problems"]')


def test_a_parent_and_child_at_desktop_width(family: Any, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page: Any = open_app(context, family.url)
        ex = expect()
        unlock(page)
        # The record opens on the person it was made for, and says so in the top bar.
        ex(_whose(page)).to_contain_text("Alice Quarrington")
        ex(_problems(page)).to_contain_text("Asthma")
        ex(_problems(page)).not_to_contain_text("Otitis")
        shot(page, "people-01-desktop-parent")

        _whose(page).click()
        ex(_about(page, 0)).to_contain_text("Born 3 Feb 1987 · From Clinic A")
        ex(page.locator('[flt-semantics-identifier="person-0"]')).to_contain_text("On screen now")
        ex(page.locator('[flt-semantics-identifier="person-1"]')).to_contain_text("Theo Quarrington")
        ex(_about(page, 1)).to_contain_text("Born 30 Aug 2019 · From Children's Hospital")
        shot(page, "people-02-desktop-whose-record")

        page.locator('[flt-semantics-identifier="show-person-1"]').click()
        ex(_whose(page)).to_contain_text("Theo Quarrington")
        ex(_problems(page)).to_contain_text("Otitis media")
        ex(_problems(page)).not_to_contain_text("Asthma")
        shot(page, "people-03-desktop-child")

        nav(page, "Share")
        ex(page.locator('[flt-semantics-identifier="share-person"]')).to_contain_text("Summary of Theo Quarrington")
        ex(_whose(page)).to_contain_text("Theo Quarrington")
        shot(page, "people-04-desktop-share-names-the-person")

        # Merge the two (the patient's word, in a dialog), then split them again: both kept in the record.
        _whose(page).click()
        page.locator('[flt-semantics-identifier="merge-person-0"]').click()
        page.locator('[flt-semantics-identifier="merge-with-0"]').click()
        ex(_about(page, 0)).to_contain_text("From Clinic A, Children's Hospital")
        ex(page.locator('[flt-semantics-identifier="person-1"]')).to_have_count(0)
        shot(page, "people-05-desktop-merged")
        page.locator('[flt-semantics-identifier="split-person-0"]').click()
        page.get_by_role("checkbox", name="Children's Hospital", exact=False).click()
        page.locator('[flt-semantics-identifier="split-confirm"]').click()
        ex(_about(page, 1)).to_contain_text("From Children's Hospital")
        ex(_about(page, 0)).to_contain_text("Born 3 Feb 1987 · From Clinic A")
    finally:
        context.close()


def test_a_parent_and_child_at_phone_width(family: Any, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=False, has_touch=False)
    try:
        page: Any = open_app(context, family.url)
        ex = expect()
        unlock(page)
        ex(_whose(page)).to_contain_text("Alice Quarrington")
        box = _whose(page).bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]  # on screen, not pushed off it
        ex(_problems(page)).to_contain_text("Asthma")
        shot(page, "people-06-phone-parent")
        _whose(page).click()
        ex(page.locator('[flt-semantics-identifier="person-1"]')).to_contain_text("Theo Quarrington")
        ex(_about(page, 1)).to_contain_text("Born 30 Aug 2019 · From Children's Hospital")
        page.locator('[flt-semantics-identifier="show-person-1"]').click()
        ex(_whose(page)).to_contain_text("Theo Quarrington")
        ex(_problems(page)).to_contain_text("Otitis media")
        ex(_problems(page)).not_to_contain_text("Asthma")
        shot(page, "people-07-phone-child")
    finally:
        context.close()
