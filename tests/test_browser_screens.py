"""In a real browser, at a projector's 1280×720 and a phone's 390×844 (issue 12, items 5 and
6): presentation mode hides the menu and folds the filters, every bar has its label and no
label lies on another, the filters fold on a phone, wide tables say they scroll.

Each test saves its screenshots under pytest's tmp_path (looked at while writing them)."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from charts import planning as planning_charts
from dashboard.db import get_engine, session_scope
from dashboard.models import Target
from dashboard.targets import set_target
from tests.browser import console_errors, sign_in, wait_for_change
from tests.test_charts_screens import groups_frame

PORT = 8057
FY = "?from=2025-04-01&to=2026-03-31"
WAIT = 30  # seconds: generous, for a machine busy with other tests
SESSIONS = "#overview-value-sessions_held"

# The bounding boxes of the visible, non-empty SVG texts under `selector`.
TEXT_BOXES = """
return Array.from(document.querySelectorAll(arguments[0]))
  .filter(el => el.textContent.trim() && el.getBoundingClientRect().width > 0)
  .map(el => { const r = el.getBoundingClientRect();
    return {text: el.textContent, lines: el.querySelectorAll('tspan.line').length || 1,
            left: r.left, right: r.right, top: r.top, bottom: r.bottom}; });
"""
# What plotly drew on a category axis: the categories, the ticks it kept, automargin.
AXIS = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
const axis = gd._fullLayout[arguments[1]];
return {ticks: axis._vals.map(v => v.text), automargin: axis.automargin,
        font: gd._fullLayout.font.size};
"""


# Bootstrap scrolls the page smoothly: a test scrolls at once.
TOP = "window.scrollTo({top: 0, behavior: 'instant'})"


def scroll_to(dash_duo, selector: str) -> None:
    dash_duo.driver.execute_script(
        "document.querySelector(arguments[0]).scrollIntoView({behavior: 'instant'})", selector
    )


def set_viewport(driver, width: int, height: int) -> None:
    """The page's own area at this size (the window is larger by its frame)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
    assert driver.execute_script("return [window.innerWidth, window.innerHeight]") == [
        width,
        height,
    ]


def overlapping(boxes: list[dict], others: list[dict] | None = None, slack: float = 1) -> list:
    """Pairs of boxes that intersect (by more than `slack` px): within one list, or
    between two."""
    pairs = (
        [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]]
        if others is None
        else [(a, b) for a in boxes for b in others]
    )
    return [
        (a["text"], b["text"])
        for a, b in pairs
        if min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    ]


def boxes(dash_duo, selector: str) -> list[dict]:
    return dash_duo.driver.execute_script(TEXT_BOXES, selector)


def wait_for_figure(dash_duo, graph: str, font: int | None = None) -> dict:
    """Wait until the graph has drawn bars (in the mode's type size, if given)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            drawn = dash_duo.driver.execute_script(AXIS, graph, "yaxis")
        except Exception:  # not drawn yet
            drawn = None
        if drawn and drawn["ticks"] and (font is None or drawn["font"] == font):
            return drawn
        time.sleep(0.2)
    raise AssertionError(f"{graph} was not drawn")


def shot(dash_duo, tmp_path, name: str) -> None:
    time.sleep(0.5)  # plotly's transitions
    dash_duo.driver.save_screenshot(str(tmp_path / f"{name}.png"))


def displayed(dash_duo, selector: str) -> bool:
    found = dash_duo.driver.find_elements(By.CSS_SELECTOR, selector)
    return bool(found) and found[0].is_displayed()


def rect(dash_duo, selector: str) -> dict:
    return dash_duo.driver.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().toJSON()", selector
    )


@pytest.fixture
def one_target(demo_url):
    """A target for the combined men reached of FY2025-26 (the shared demo database is left
    without targets again)."""
    engine = get_engine(demo_url)
    with session_scope(engine) as session:
        session.query(Target).delete()
        set_target(session, None, "men_reached", "FY2025-26", 200)
    yield
    with session_scope(engine) as session:
        session.query(Target).delete()


def test_presentation_mode_at_1280x720(dash_duo, demo_app, one_target, tmp_path):
    dash_duo.start_server(demo_app, navigate=False, port=PORT)
    sign_in(dash_duo, "leadership", "/" + FY)
    set_viewport(dash_duo.driver, 1280, 720)
    wait_for_change(dash_duo, SESSIONS, "…", timeout=WAIT)
    assert displayed(dash_duo, ".navbar") and displayed(dash_duo, "#filter-network")
    shot(dash_duo, tmp_path, "overview")

    # The overview on a projector: no menu, the filters folded to their summary line, the
    # chart whole on the first screen.
    dash_duo.find_element("#nav-present-on").click()
    dash_duo.wait_for_element("#page-root.presenting", timeout=WAIT)
    time.sleep(0.6)  # the filter bar's fold
    assert not displayed(dash_duo, ".navbar")
    assert not displayed(dash_duo, "#filter-network")
    assert "01 Apr 2025 – 31 Mar 2026" in dash_duo.find_element("#filter-summary").text
    dash_duo.wait_for_element("#overview-trend .scatterlayer .trace", timeout=WAIT)
    chart = rect(dash_duo, "#overview-trend")
    assert 0 <= chart["top"] and chart["bottom"] <= 720, chart
    shot(dash_duo, tmp_path, "overview-presenting")

    # Planning keeps the mode: every bar labelled, in large type, no label on another.
    dash_duo.driver.get(dash_duo.server_url + "/planning")
    dash_duo.wait_for_element("#page-root.presenting", timeout=WAIT)
    assert not displayed(dash_duo, ".navbar")
    for graph in ("#planning-capacity", "#planning-growth", "#planning-retention"):
        drawn = wait_for_figure(dash_duo, graph, font=20)
        categories = dash_duo.driver.execute_script(
            "const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');"
            "return [...new Set(gd.data.flatMap(t => t.type === 'bar' ? t.y : []))];",
            graph,
        )
        assert sorted(drawn["ticks"]) == sorted(categories), graph  # every bar has its label
        assert drawn["automargin"] is True, graph
        scroll_to(dash_duo, graph)
        labels = boxes(dash_duo, f"{graph} .ytick text")
        assert len(labels) == len(categories), graph
        assert overlapping(labels) == [], graph
        # The bars' own words lie on no group's name, nor on each other.
        words = boxes(dash_duo, f"{graph} .bartext, {graph} .textpoint")
        assert overlapping(words, labels) == [], graph
        assert overlapping(words) == [], graph
        shot(dash_duo, tmp_path, graph.strip("#"))
    growth = boxes(dash_duo, "#planning-growth .textpoint")
    assert len(growth) == len(boxes(dash_duo, "#planning-growth .ytick text"))

    # The full demo's 40 groups (this test's data has fewer): drawn by the same builder on
    # the projector, each has its label and none lies on another.
    forty = planning_charts.capacity(groups_frame(40), presenting=True)
    dash_duo.driver.execute_script(
        "const gd = document.querySelector('#planning-capacity .js-plotly-plot');"
        "const fig = JSON.parse(arguments[0]); return Plotly.react(gd, fig.data, fig.layout);",
        forty.to_json(),
    )
    drawn = wait_for_figure(dash_duo, "#planning-capacity", font=20)
    assert sorted(drawn["ticks"]) == sorted(groups_frame(40)["group"])
    labels = boxes(dash_duo, "#planning-capacity .ytick text")
    assert len(labels) == 40 and overlapping(labels) == []
    words = boxes(dash_duo, "#planning-capacity .bartext")
    assert overlapping(words, labels) == [] and overlapping(words) == []
    scroll_to(dash_duo, "#planning-capacity")
    shot(dash_duo, tmp_path, "planning-capacity-40")

    # Actual against target: the projection's diamond beside its words, not on them.
    dash_duo.driver.execute_script(TOP)
    dash_duo.wait_for_element("#planning-actual-chart .scatterlayer .point", timeout=WAIT)
    diamond = rect(dash_duo, "#planning-actual-chart .scatterlayer .point")
    words = boxes(dash_duo, "#planning-actual-chart .textpoint")
    assert len(words) == 1 and words[0]["text"].endswith("%)")
    assert overlapping([{**diamond, "text": "diamond"}], words) == []
    assert words[0]["left"] >= diamond["right"] - 1
    # One chart per screen: the slide's chart fits the projector's height.
    assert rect(dash_duo, "#planning-actual-chart")["height"] <= 720 - 150
    shot(dash_duo, tmp_path, "planning-actual")

    # Leaving presentation mode brings the menu and the filters back.
    dash_duo.find_element("#nav-present-off").click()
    dash_duo.wait_for_element(".navbar", timeout=WAIT)
    deadline = time.monotonic() + 10
    while not displayed(dash_duo, ".navbar") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert displayed(dash_duo, ".navbar")
    # Escape leaves it too.
    dash_duo.find_element("#nav-present-on").click()
    dash_duo.wait_for_element("#page-root.presenting", timeout=WAIT)
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    dash_duo.wait_for_element("#page-root:not(.presenting)", timeout=WAIT)
    assert console_errors(dash_duo) == []


def test_overview_on_a_phone(dash_duo, demo_app, tmp_path):
    dash_duo.start_server(demo_app, navigate=False, port=PORT)
    sign_in(dash_duo, "admin")
    set_viewport(dash_duo.driver, 390, 844)
    dash_duo.driver.get(dash_duo.server_url + "/" + FY)
    wait_for_change(dash_duo, SESSIONS, "…", timeout=WAIT)
    time.sleep(0.6)  # the filter bar's fold
    # The menu and the filters are folded: the figures start on the first screen.
    assert not displayed(dash_duo, "#nav-links") and not displayed(dash_duo, "#filter-network")
    bar = rect(dash_duo, "#filter-bar")
    assert bar["height"] < 0.25 * 844, bar
    assert "01 Apr 2025 – 31 Mar 2026" in dash_duo.find_element("#filter-summary").text
    assert rect(dash_duo, "#overview-cards")["top"] < 844 / 3
    dash_duo.wait_for_element("#overview-trend .scatterlayer .trace", timeout=WAIT)
    shot(dash_duo, tmp_path, "overview-phone")
    assert rect(dash_duo, "#overview-trend")["top"] < 844

    # The button opens them, and closes them again.
    dash_duo.find_element("#filter-toggle").click()
    dash_duo.wait_for_element("#filter-collapse.show", timeout=WAIT)
    assert displayed(dash_duo, "#filter-network")
    shot(dash_duo, tmp_path, "overview-phone-filters")
    dash_duo.find_element("#filter-toggle").click()
    time.sleep(0.6)
    assert not displayed(dash_duo, "#filter-network")

    # The networks' table is wider than the phone: it says so until scrolled to its end.
    table = "#overview-networks .table-responsive"
    scroll_to(dash_duo, "#overview-networks")
    wide = dash_duo.driver.execute_script(
        "const t = document.querySelector(arguments[0]);"
        "return [t.scrollWidth, t.clientWidth,"
        " getComputedStyle(t, '::before').opacity, getComputedStyle(t, '::before').content];",
        table,
    )
    assert wide[0] > wide[1], wide
    assert wide[2] == "1" and "Scroll sideways" in wide[3], wide
    shot(dash_duo, tmp_path, "overview-phone-table")
    dash_duo.driver.execute_script(
        "const t = document.querySelector(arguments[0]); t.scrollLeft = t.scrollWidth;", table
    )
    time.sleep(0.3)
    assert (
        dash_duo.driver.execute_script(
            "return getComputedStyle(document.querySelector(arguments[0]), '::before').opacity",
            table,
        )
        == "0"
    )
    # The menu opens from its button.
    dash_duo.driver.execute_script(TOP)
    dash_duo.find_element("#nav-toggler").click()
    dash_duo.wait_for_element("#nav-collapse.show", timeout=WAIT)
    assert displayed(dash_duo, "#nav-links")
    assert console_errors(dash_duo) == []


def test_impact_on_a_phone(dash_duo, demo_app, tmp_path):
    dash_duo.start_server(demo_app, navigate=False, port=PORT)
    sign_in(dash_duo, "admin")
    set_viewport(dash_duo.driver, 390, 844)
    dash_duo.driver.get(dash_duo.server_url + "/impact" + FY)
    dash_duo.wait_for_element("#impact-content .impact-chart .js-plotly-plot", timeout=60)
    charts = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#impact-content .impact-chart")
    assert len(charts) == 3
    for index, name in ((0, "outputs"), (1, "change"), (2, "shares")):
        graph = f"#{name}-chart"
        dash_duo.driver.execute_script(
            "arguments[0].id = arguments[1]; arguments[0].scrollIntoView({behavior: 'instant'})",
            charts[index],
            graph[1:],
        )
        time.sleep(0.5)
        shot(dash_duo, tmp_path, f"impact-phone-{name}")
        frame = rect(dash_duo, f"{graph} .js-plotly-plot")
        labels = boxes(dash_duo, f"{graph} .ytick text, {graph} .xtick text")
        titles = boxes(dash_duo, f"{graph} .annotation-text, {graph} .g-xtitle text")
        words = boxes(dash_duo, f"{graph} .textpoint, {graph} .bartext")
        assert labels, name
        # Nothing cut off at the chart's edges, nothing on anything else.
        for box in labels + titles:
            assert frame["left"] <= box["left"] and box["right"] <= frame["right"] + 1, box
        assert overlapping(labels) == [], name
        assert overlapping(titles) == [], name
        assert overlapping(titles, labels) == [], name
        assert overlapping(words, labels) == [], name
    # The shares' labels: instrument over network, every row labelled.
    shares = boxes(dash_duo, "#shares-chart .ytick text")
    assert len(shares) == 9  # 3 instruments × Calgary, Edmonton, Combined
    assert all(box["lines"] == 2 for box in shares), shares
    assert console_errors(dash_duo) == []
