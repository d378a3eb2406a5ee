"""In a real browser: each role signs in through the form and sees only its own pages."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser import console_errors, sign_in

# SPEC §1: what each role may open, as the navigation names the pages.
NAV = {
    "admin": [
        "Overview",
        "Attendance",
        "Retention",
        "Surveys",
        "Impact",
        "Planning",
        "Data",
        "Admin",
    ],
    "leadership": ["Overview", "Attendance", "Retention", "Surveys", "Impact", "Planning"],
    "funder": ["Impact"],  # published releases only (SPEC §4)
    "coord-calgary": ["Overview", "Attendance", "Retention", "Surveys", "Impact", "Data"],
    "coord-edmonton": ["Overview", "Attendance", "Retention", "Surveys", "Impact", "Data"],
}
WHO = {
    "admin": "admin · admin",
    "leadership": "leadership · leadership",
    "funder": "funder · funder",
    "coord-calgary": "coord-calgary · coordinator (Calgary)",
    "coord-edmonton": "coord-edmonton · coordinator (Edmonton)",
}


WAIT = 20  # seconds: generous, for a machine busy with other tests


def nav_texts(dash_duo) -> list[str]:
    return [
        link.text
        for link in dash_duo.driver.find_elements(By.CSS_SELECTOR, "#nav-links a.nav-link")
    ]


@pytest.mark.parametrize("username", list(NAV))
def test_each_role_sees_only_its_pages(dash_duo, demo_app, username):
    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, username)
    dash_duo.wait_for_text_to_equal("#nav-user", WHO[username], timeout=WAIT)
    assert nav_texts(dash_duo) == NAV[username]
    if "Overview" in NAV[username]:
        dash_duo.wait_for_element("#overview-value-sessions_held", timeout=WAIT)
    else:  # a funder lands on his releases
        dash_duo.wait_for_element("#impact-release", timeout=WAIT)
    if "Admin" not in NAV[username]:
        # Typing the address of a page out of role shows a refusal, not the page.
        dash_duo.driver.get(dash_duo.server_url + "/admin")
        dash_duo.wait_for_contains_text("#page", "Not available", timeout=WAIT)
        assert not dash_duo.driver.find_elements(By.ID, "admin-users")
    assert console_errors(dash_duo) == []


def test_wrong_password_and_sign_out(dash_duo, demo_app):
    dash_duo.start_server(demo_app, navigate=False)
    driver = dash_duo.driver
    dash_duo._url = dash_duo.server.url.rstrip("/")
    driver.get(dash_duo.server_url + "/login")
    driver.find_element(By.ID, "username").send_keys("funder")
    driver.find_element(By.ID, "password").send_keys("not-the-password")
    driver.find_element(By.ID, "login-submit").click()
    dash_duo.wait_for_contains_text(".alert-danger", "Wrong username or password", timeout=WAIT)
    sign_in(dash_duo, "funder")
    dash_duo.wait_for_element("a[href='/logout']", timeout=WAIT).click()
    dash_duo.wait_for_element("#logout-submit", timeout=WAIT).click()  # it asks first
    dash_duo.wait_for_element("#login-submit", timeout=WAIT)
    driver.get(dash_duo.server_url + "/impact")
    dash_duo.wait_for_element("#login-submit", timeout=WAIT)  # signed out: back to the form
    assert "/login?next=/impact" in driver.current_url


def served_codes(dash_duo, demo_app, username: str, pages: list[tuple[str, str]]) -> list:
    """Member codes in every response body the server sends while `username` browses."""
    import re

    bodies: list[bytes] = []

    @demo_app.server.after_request
    def keep_body(response):
        if not response.direct_passthrough:
            bodies.append(response.get_data())
        return response

    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, username)
    for path, wait_for in pages:
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element(wait_for, timeout=WAIT)
    assert len(bodies) > 10
    return [m for body in bodies for m in re.findall(rb"\b[A-Z]{3}-\d{6}\b", body)]


FY = "?from=2025-04-01&to=2026-03-31"


def test_no_member_code_in_anything_served_to_a_funder(dash_duo, demo_app):
    codes = served_codes(
        dash_duo,
        demo_app,
        "funder",
        [
            ("/impact" + FY, "#impact-release-content"),
            ("/" + FY, "#nav-links"),
            ("/attendance" + FY, "#nav-links"),
        ],
    )
    assert codes == []


def test_the_search_finds_codes_where_they_belong(dash_duo, demo_app):
    """The same search on a coordinator's at-risk list finds codes: the search works."""
    codes = served_codes(
        dash_duo,
        demo_app,
        "coord-calgary",
        [("/attendance" + FY, "#attendance-atrisk-grid .ag-row")],
    )
    assert codes and all(c.startswith(b"CGY-") for c in codes)
