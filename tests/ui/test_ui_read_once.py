"""Nothing read twice, nothing unnamed (issue 18 item 7): the accessibility tree of every main screen, as a screen
reader gets it from Chromium (Playwright's aria snapshot), at 390 and 1280 px. A control whose name says the same
words twice ("Lock Lock"), or that stands beside a text saying its name again (an icon and its label both named),
is read twice; a button, link or field without a name is read as nothing, and a radio group without a name is read
as a list of choices without the question they answer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ui.browser_support import DESKTOP, PHONE, open_app
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

_NODE = re.compile(r"^(?P<indent>\s*)- '?(?P<role>[a-z]+)(?: \"(?P<name>(?:[^\"\\]|\\.)*)\")?")
_TEXT = re.compile(r"^(?P<indent>\s*)- text: (?P<text>.*)$")
_CONTROLS = {"button", "link", "tab", "checkbox", "radio", "menuitem", "textbox", "combobox", "switch", "slider"}
SCREENS = ["Summary", "Timeline", "Results", "Documents", "Search", "Share", "Sources", "Settings"]


def said_twice(name: str) -> str | None:
    """The words a name says twice in a row ("Lock Lock", "Elvina Lemke Elvina Lemke"), or None."""
    words = name.split()
    for size in range(1, len(words) // 2 + 1):
        for start in range(len(words) - 2 * size + 1):
            first, second = words[start : start + size], words[start + size : start + 2 * size]
            if first == second and len("".join(first)) >= 3 and any(c.isalpha() for c in "".join(first)):
                return " ".join(first)
    return None


def problems(snapshot: str) -> list[str]:
    """What in an aria snapshot is read twice, or not at all."""
    nodes: list[tuple[int, str, str]] = []  # (indent, role or "text", name or text)
    for line in snapshot.splitlines():
        text = _TEXT.match(line)
        if text:
            nodes.append((len(text["indent"]), "text", text["text"].strip().strip('"')))
            continue
        node = _NODE.match(line)
        if node:
            nodes.append((len(node["indent"]), node["role"], (node["name"] or "").replace('\\"', '"')))
    found = []
    for n, (indent, role, name) in enumerate(nodes):
        if role == "radiogroup":
            found += _radio_group_problems(nodes, n)
        inside = nodes[n + 1] if n + 1 < len(nodes) else None
        if role != "text" and name and inside and inside[0] > indent and inside[1] == "text" and inside[2] == name:
            found.append(f"{role} {name!r} holds its name again as text")
        if role not in _CONTROLS:
            continue
        if not name.strip():
            found.append(f"a {role} without a name")
            continue
        twice = said_twice(name)
        if twice:
            found.append(f"{role} {name!r} says {twice!r} twice")
        for m in (n - 1, n + 1):
            if 0 <= m < len(nodes) and nodes[m][0] == indent and nodes[m][1] == "text":
                beside = nodes[m][2]
                if beside and (beside == name or (len(beside) > 3 and (name.startswith(beside + " ")
                                                                     or name.endswith(" " + beside)))):  # fmt: skip
                    found.append(f"{role} {name!r} stands beside the text {beside!r}")
    return found


def _radio_group_problems(nodes: list[tuple[int, str, str]], n: int) -> list[str]:
    """A radio group is named by itself or by the group right around it (Flutter's radiogroup node takes no name of
    its own); the name must not stand again as a text just before it."""
    indent, _, name = nodes[n]
    namer = n
    if not name:
        parent = next((m for m in range(n - 1, -1, -1) if nodes[m][0] < indent), None)
        if parent is None or nodes[parent][1] != "group" or not nodes[parent][2]:
            return [f"a radio group without a name (first choice {_first_radio(nodes, n)!r})"]
        namer, name = parent, nodes[parent][2]
    before = next((m for m in range(namer - 1, -1, -1) if nodes[m][0] <= nodes[namer][0]), None)
    if before is not None and nodes[before][:2] == (nodes[namer][0], "text") and nodes[before][2] == name:
        return [f"the radio group {name!r} stands beside the text {name!r}"]
    return []


def _first_radio(nodes: list[tuple[int, str, str]], n: int) -> str:
    return next((name for _, role, name in nodes[n + 1 :] if role == "radio"), "")


def test_the_checks_find_what_they_look_for() -> None:
    sample = ('- button "Lock Lock"\n- group:\n  - button "Settings"\n  - text: Settings\n  - button\n'
              '  - textbox "Name"\n- group "Elvina: user name elvina":\n  - text: "Elvina: user name elvina"')
    assert problems(sample) == [
        "button 'Lock Lock' says 'Lock' twice",
        "button 'Settings' stands beside the text 'Settings'",
        "a button without a name",
        "group 'Elvina: user name elvina' holds its name again as text",
    ]
    assert problems('- button "Hemoglobin A1c 6.22 % · 11 values"\n- text: Tap a test') == []
    radios = ('- text: Units\n- radiogroup:\n  - radio "Metric"\n  - radio "US"\n'
              '- text: Text size\n- group "Text size":\n  - radiogroup:\n    - radio "Normal"\n'
              '- group "Export format":\n  - radiogroup:\n    - radio "FHIR Bundle"\n'
              '- radiogroup "Light or dark":\n  - radio "Light"')
    assert problems(radios) == [
        "a radio group without a name (first choice 'Metric')",
        "the radio group 'Text size' stands beside the text 'Text size'",
    ]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_no_screen_reads_anything_twice(make_server: Any, browser: Any, viewport: Any) -> None:
    server = make_server(ELVINA)
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, server.url)
        ex = expect()
        ex(page.get_by_role("button", name="Unlock", exact=True)).to_be_visible()
        # (Flutter keeps one unnamed text box of its own at the top of the tree: the field editing happens in.)
        found = {"unlock": [p for p in problems(page.locator("flt-semantics-host, body").last.aria_snapshot())
                            if p != "a textbox without a name"]}  # fmt: skip
        unlock(page)
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        for screen in SCREENS:
            nav(page, screen)
            ex(page.get_by_role("heading", name=screen, exact=True)).to_be_visible()
            page.wait_for_timeout(1500)  # the section's data loads after its title
            found[screen] = problems(page.locator("body").aria_snapshot())
        nav(page, "Sources")
        page.get_by_role("button", name="Try the demo hospital").click()
        ex(page.get_by_text("elvina-demo", exact=False).first).to_be_visible(timeout=60_000)
        found["demo hospital"] = problems(page.locator("body").aria_snapshot())
        assert not {screen: said for screen, said in found.items() if said}
    finally:
        context.close()
