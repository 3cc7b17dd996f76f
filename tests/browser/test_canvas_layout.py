"""The canvas is readable (issue 13, items 4 and 8), measured in Chromium at 1366x768: node text
renders at 12 px or more when an example opens, port labels show in full, no two nodes of an example
overlap, the palette and the side panel fold away (and stay folded), the minimap moves the view,
Arrange lays a graph out left to right as one undoable, saved edit, and the keyboard reaches the
canvas through a skip link and moves between a node and its settings.

Screenshots: test-artifacts/screenshots/canvas-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from flowapp.services import automations, examples
from tests.browser.test_editor import edges, node, open_editor, save_now, serialize, stored
from tests.browser_support import screenshot, settled

pytestmark = pytest.mark.browser

# Every text on the canvas's nodes, with its rendered size: the computed font size times the scale
# the canvas's zoom applies (the node's rendered width over its layout width).
RENDERED_TEXT = """() => [...document.querySelectorAll('.fa-node')].flatMap((node) => {
  const scale = node.getBoundingClientRect().width / node.offsetWidth;
  return [...node.querySelectorAll('.fa-title, .fa-summary, .fa-id, .fa-port, .fa-issue-badge')]
    .filter((e) => e.textContent.trim())
    .map((e) => ({node: node.dataset.nid, cls: e.className, text: e.textContent,
                  px: parseFloat(getComputedStyle(e).fontSize) * scale}));
})"""

# Each port label: cut when its text is wider than its box, or when its box leaves the node's.
PORT_LABELS = """() => [...document.querySelectorAll('.fa-port')].map((label) => {
  const node = label.closest('.fa-node').getBoundingClientRect();
  const box = label.getBoundingClientRect();
  return {node: label.closest('.fa-node').dataset.nid, text: label.textContent,
          scroll: label.scrollWidth, client: label.clientWidth,
          inside: box.left >= node.left - 0.5 && box.right <= node.right + 0.5
                  && box.top >= node.top - 0.5 && box.bottom <= node.bottom + 0.5};
})"""

NODE_BOXES = """() => Object.fromEntries([...document.querySelectorAll('.fa-node')].map((node) => {
  const r = node.getBoundingClientRect();
  return [node.dataset.nid, {x: r.x, y: r.y, w: r.width, h: r.height}];
}))"""


def overlapping(boxes: dict) -> list[tuple[str, str]]:
    ids = sorted(boxes)
    return [
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if boxes[a]["x"] < boxes[b]["x"] + boxes[b]["w"]
        and boxes[b]["x"] < boxes[a]["x"] + boxes[a]["w"]
        and boxes[a]["y"] < boxes[b]["y"] + boxes[b]["h"]
        and boxes[b]["y"] < boxes[a]["y"] + boxes[a]["h"]
    ]


def canvas_width(page) -> float:
    return page.locator("#canvas").bounding_box()["width"]


def sides(page) -> float:
    """The width the palette and the side panel take."""
    return (
        page.locator(".palette").bounding_box()["width"] + page.locator(".side-panel").bounding_box()["width"]
    )


def create(live_stack, slug: str | None = None, graph: dict | None = None) -> int:
    with live_stack.app.app_context():
        automation = examples.create_from(slug) if slug else automations.create("Piled up", graph=graph)
        db.session.commit()
        return automation.id


def test_examples_open_readable_with_nothing_overlapping_or_cut(logged_in_page, live_stack):
    """Every example opens with its node text at 12 px or more on screen, every port label whole
    and inside its node, and no two nodes overlapping at their rendered sizes."""
    page = logged_in_page
    for example in examples.all_examples():
        open_editor(page, f"{live_stack.url}/automations/{create(live_stack, example['slug'])}/edit")
        texts = page.evaluate(RENDERED_TEXT)
        assert texts, example["slug"]
        small = [t for t in texts if t["px"] < 12]
        assert small == [], (example["slug"], small)
        labels = page.evaluate(PORT_LABELS)
        views = page.evaluate("Object.values(window.flowappEditor.canvas.views())")
        ports = sum(len(view["ports"]) for view in views)
        assert len(labels) == ports, example["slug"]
        cut = [label for label in labels if label["scroll"] > label["client"] or not label["inside"]]
        assert cut == [], (example["slug"], cut)
        assert overlapping(page.evaluate(NODE_BOXES)) == [], example["slug"]
        if example["slug"] == "keyword_menu":
            expect(node(page, "menu").locator('.fa-port[data-port="book"]')).to_have_text("Book a visit")
            screenshot(page, "canvas-keyword-menu")


def test_palette_and_side_panel_fold_and_stay_folded(logged_in_page, live_stack):
    """Folding the palette and the side panel (from the keyboard) gives their room to the canvas;
    the choice survives a reload; opening a node's settings unfolds the panel."""
    page = logged_in_page
    url = f"{live_stack.url}/automations/{create(live_stack, 'keyword_menu')}/edit"
    open_editor(page, url)
    before = canvas_width(page)
    palette = page.locator('[data-fold="palette"]')
    panel = page.locator('[data-fold="panel"]')
    room = sides(page)
    for button in (palette, panel):
        button.focus()
        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#palette-body")).to_be_hidden()
    expect(page.locator("#side-body")).to_be_hidden()
    assert canvas_width(page) == pytest.approx(before + room - sides(page), abs=1)
    assert canvas_width(page) > 1100  # of 1366: the app's menu and two strips are all that is left
    screenshot(page, "canvas-folded")

    open_editor(page, url)  # remembered in this browser
    expect(palette).to_have_attribute("aria-expanded", "false")
    expect(panel).to_have_attribute("aria-expanded", "false")
    assert canvas_width(page) > 1100

    node(page, "menu").locator(".fa-summary").click()  # settings need the panel: it unfolds
    expect(panel).to_have_attribute("aria-expanded", "true")
    expect(page.locator('#node-form-wrap[data-node-id="menu"]')).to_be_visible()
    palette.click()
    expect(palette).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".palette-item").first).to_be_visible()


def view_centre(page) -> dict:
    return page.evaluate(
        "(() => { const b = window.flowappEditor.canvas.visibleBox();"
        " return {x: b.x + b.w / 2, y: b.y + b.h / 2}; })()"
    )


def test_minimap_moves_the_view(logged_in_page, live_stack):
    """The minimap draws every node and the visible part; a click centres the view on the point
    clicked, and dragging on it pans the view along."""
    page = logged_in_page
    open_editor(page, f"{live_stack.url}/automations/{create(live_stack, 'keyword_menu')}/edit")
    minimap = page.locator("#minimap")
    expect(minimap.locator(".minimap-node")).to_have_count(13)
    expect(minimap.locator(".minimap-view")).to_have_count(1)
    done = minimap.locator('.minimap-node[data-nid="done"]').bounding_box()
    page.mouse.click(done["x"] + done["width"] / 2, done["y"] + done["height"] / 2)
    expect(node(page, "done")).to_be_in_viewport()
    box = page.evaluate("window.flowappEditor.canvas.box('done')")
    centre = view_centre(page)
    assert centre["x"] == pytest.approx(box["x"] + box["w"] / 2, abs=box["w"] / 4)
    assert centre["y"] == pytest.approx(box["y"] + box["h"] / 2, abs=box["h"] / 4)

    start = minimap.locator('.minimap-node[data-nid="start"]').bounding_box()
    view = minimap.locator(".minimap-view").bounding_box()
    page.mouse.move(view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2, steps=6)
    page.mouse.up()
    expect(node(page, "start")).to_be_in_viewport()
    screenshot(page, "canvas-minimap")


def test_arrange_lays_out_left_to_right_as_one_edit(logged_in_page, live_stack):
    """Nodes piled on one spot: Arrange spreads them so none overlap and every edge that is not a
    loop runs left to right; it is saved like any edit, and one undo piles them up again."""
    page = logged_in_page
    graph = examples.get("keyword_menu")["graph"]
    for item in graph["nodes"]:
        item["position"] = {"x": 100, "y": 100}
    graph["edges"].append({"from": "help", "port": "next", "to": "menu"})  # a loop
    graph["edges"] = [e for e in graph["edges"] if not (e["from"] == "help" and e["to"] == "done")]
    automation_id = create(live_stack, graph=graph)
    open_editor(page, f"{live_stack.url}/automations/{automation_id}/edit")
    piled = serialize(page)
    assert len(overlapping(page.evaluate(NODE_BOXES))) > 50

    page.click('[data-action="arrange"]')
    assert overlapping(page.evaluate(NODE_BOXES)) == []
    arranged = serialize(page)
    assert edges(arranged) == edges(piled)
    at = {item["id"]: item["position"] for item in arranged["nodes"]}
    widths = page.evaluate(
        "(() => { const c = window.flowappEditor.canvas;"
        " return Object.fromEntries(c.order.map((id) => [id, c.box(id).w])); })()"
    )
    for source, _, target in edges(arranged) - {("help", "next", "menu")}:
        assert at[target]["x"] >= at[source]["x"] + widths[source] + 50, (source, target)
    assert at["help"]["x"] > at["menu"]["x"]  # the loop back is drawn, not laid out
    assert all(float(p["x"]).is_integer() and float(p["y"]).is_integer() for p in at.values())
    screenshot(page, "canvas-arranged")

    save_now(page)
    assert stored(live_stack, automation_id).draft == arranged
    page.keyboard.press("Control+z")
    assert serialize(page) == piled
    page.keyboard.press("Control+y")
    assert serialize(page) == arranged


def focused(page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e.dataset.nid || e.id || e.textContent.trim(); })()"
    )


def test_skip_link_and_focus_between_node_and_settings(logged_in_page, live_stack):
    """The first Tab reaches "Skip to canvas", which focuses the start node; Enter on a node moves
    the focus to its settings' first field, and Escape brings it back to the node (closing the
    settings, unless they hold unsaved changes)."""
    page = logged_in_page
    open_editor(page, f"{live_stack.url}/automations/{create(live_stack, 'keyword_menu')}/edit")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_have_text("Skip to canvas")
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # shown while focused
    screenshot(page, "canvas-skip-link")
    page.keyboard.press("Enter")
    assert focused(page) == "start"
    page.keyboard.press("Tab")
    assert focused(page) == "menu"

    page.keyboard.press("Enter")
    expect(page.locator('#node-form-wrap[data-node-id="menu"]')).to_be_visible()
    settled(page)
    first = page.locator("#node-form").locator("input:not([type=hidden]), select, textarea").first
    expect(first).to_be_focused()
    page.keyboard.press("Escape")
    assert focused(page) == "menu"
    expect(page.locator("#node-form-wrap")).to_have_count(0)

    page.keyboard.press("Enter")
    expect(first).to_be_focused()
    settled(page)
    page.keyboard.type("Main menu")
    page.keyboard.press("Escape")
    assert focused(page) == "menu"
    expect(first).to_have_value("Main menu")  # not thrown away
    expect(page.locator("#toast")).to_contain_text("not saved yet")
