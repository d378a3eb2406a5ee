"""Helpers for dash_duo browser tests: sign in, pick dropdown options, wait for text."""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import TEST_PASSWORD


def sign_in(dash_duo, username: str, path: str = "/") -> None:
    """Sign in through the real form, then open `path`."""
    driver = dash_duo.driver
    # start_server(navigate=False): the app's root redirects to /login, which has no
    # react entry point for dash_duo's own page wait.
    dash_duo._url = dash_duo.server.url.rstrip("/")
    driver.get(dash_duo.server_url + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(TEST_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    dash_duo.wait_for_element("#nav-links", timeout=10)
    if path != "/":
        driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element("#nav-links", timeout=10)


def choose_option(dash_duo, dropdown_id: str, label: str) -> None:
    """Open a dcc.Dropdown (Dash 4) and click the option with this label."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    options = dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]")
    for option in options:
        if option.text.strip() == label:
            option.click()
            break
    else:
        raise AssertionError(f"no option {label!r} in {dropdown_id}")
    dash_duo.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def wait_for_change(dash_duo, selector: str, old: str, timeout: float = 10) -> str:
    """Wait until an element's text differs from `old` (and isn't the placeholder)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = dash_duo.find_element(selector).text
        if text and text != old and text != "…":
            return text
        time.sleep(0.1)
    raise AssertionError(f"{selector} stayed {old!r}")


def console_errors(dash_duo) -> list:
    """Browser console errors, leaving out the favicon (not served on purpose)."""
    return [
        entry for entry in dash_duo.get_logs() or [] if "favicon" not in entry.get("message", "")
    ]
