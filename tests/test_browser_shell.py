"""In a real browser: filters change the figures, live in the URL, survive a reload, and a
chart click cross-filters (undone by the back button)."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser import choose_option, console_errors, sign_in, wait_for_change

FY = "/?from=2025-04-01&to=2026-03-31"
SESSIONS = "#overview-value-sessions_held"


def test_filter_url_reload_and_cross_filter(dash_duo, demo_app):
    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, "admin", FY)
    both = wait_for_change(dash_duo, SESSIONS, "…")

    choose_option(dash_duo, "filter-network", "Edmonton")
    edmonton = wait_for_change(dash_duo, SESSIONS, both)
    assert int(edmonton.replace(",", "")) < int(both.replace(",", ""))
    shared_url = dash_duo.driver.current_url
    assert "network=Edmonton" in shared_url and "from=2025-04-01" in shared_url

    # Someone opens the shared link: the same view.
    dash_duo.driver.get(shared_url)
    assert wait_for_change(dash_duo, SESSIONS, "…") == edmonton
    dash_duo.wait_for_text_to_equal("#filter-network-value", "Edmonton", timeout=10)

    # The filters carry over to another page.
    dash_duo.find_element("#nav-links a[href^='/attendance']").click()
    dash_duo.wait_for_element("#filter-bar", timeout=10)
    assert "network=Edmonton" in dash_duo.driver.current_url
    dash_duo.driver.back()
    assert wait_for_change(dash_duo, SESSIONS, "…") == edmonton

    # A click on a point narrows the period to that month; back undoes it.
    dash_duo.wait_for_element("#overview-trend .scatterlayer .points path", timeout=10)
    point = dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "#overview-trend .scatterlayer .points path"
    )[2]
    # Plotly listens on its drag layer: hover the point, then click there.
    ActionChains(dash_duo.driver).move_to_element(point).pause(0.5).click().perform()
    narrowed = wait_for_change(dash_duo, SESSIONS, edmonton)
    assert int(narrowed.replace(",", "")) < int(edmonton.replace(",", ""))
    assert "grain=week" in dash_duo.driver.current_url
    dash_duo.driver.back()
    assert wait_for_change(dash_duo, SESSIONS, narrowed) == edmonton
    errors = console_errors(dash_duo)
    print("CONSOLE", errors)
    assert errors == []
