"""The /data page in a real browser: upload, check, import, a bad file, undo; a session by hand.

Run with `pytest --headless`; skipped where chromium is not installed (see conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import TEST_PASSWORD
from tests.test_data_page import attendance_file, figures, free_group, undo_all_since

pytestmark = pytest.mark.browser


def sign_in(dash_duo, username: str) -> None:
    """Sign in through the login form, then open /data (the server is started, not opened:
    its root redirects to the login page, which has no Dash app to wait for)."""
    driver = dash_duo.driver
    base = dash_duo.server.url.rstrip("/")
    driver.get(base + "/login")
    dash_duo.wait_for_element("#username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(TEST_PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    dash_duo.wait_for_element("#nav-user")
    driver.get(base + "/data")
    dash_duo.wait_for_element("#data-upload")


def choose_file(dash_duo, path) -> None:
    """dcc.Upload's hidden <input type=file> takes the file's absolute path."""
    field = dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]")
    field.send_keys(str(path.resolve()))


def click(dash_duo, selector: str) -> None:
    """Scroll the element to the middle of the window, then click it as a user would.

    The scroll is instant: Bootstrap makes scrolling smooth, and a click during the
    animation lands on whatever is passing under the pointer.
    """
    element = dash_duo.wait_for_element(selector)
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    element.click()


def page_errors(dash_duo) -> list:
    # The impact page's callbacks currently log a missing `impact-fy` on every page (not part
    # of this page); everything else the browser logs is a failure here.
    return [e for e in dash_duo.get_logs() if "this object is `impact-" not in e["message"]]


def last_batch(app) -> int:
    from sqlalchemy import func, select

    from dashboard.models import ImportBatch
    from tests.test_data_page import engine_of

    with engine_of(app).connect() as conn:
        return conn.scalar(select(func.max(ImportBatch.id))) or 0


def test_upload_check_import_bad_file_and_undo(dash_duo, demo_app, tmp_path):
    day = dt.date(2025, 7, 13)
    target = free_group(demo_app, "Calgary", day)
    a, b, c = target["codes"]
    good = tmp_path / "good-marks.csv"
    good.write_bytes(
        attendance_file(day, target["group"], {a: "present", b: "present", c: "absent"})
    )
    bad = tmp_path / "bad-marks.csv"
    bad.write_bytes(attendance_file(day, target["group"], {a: "present", b: "maybe"}))
    start = last_batch(demo_app)
    try:
        dash_duo.start_server(demo_app, navigate=False)
        sign_in(dash_duo, "coord-calgary")

        choose_file(dash_duo, good)
        dash_duo.wait_for_contains_text("#data-check-summary", "No errors")
        dash_duo.wait_for_contains_text("#data-preview-grid", a)
        dash_duo.wait_for_text_to_equal("#data-confirm", "Import 3 rows")
        click(dash_duo, "#data-confirm")
        dash_duo.wait_for_contains_text("#data-result-summary", "Imported as batch #")
        assert figures(demo_app, target["group"], day)["attendance"] == 2
        dash_duo.wait_for_contains_text("#data-history", "good-marks.csv")
        assert not dash_duo.find_element("#data-confirm").is_enabled()

        choose_file(dash_duo, bad)
        dash_duo.wait_for_contains_text("#data-check-summary", "1 error")
        dash_duo.wait_for_contains_text("#data-problems", "maybe")
        problems = dash_duo.find_element("#data-problems").text
        assert "status" in problems and "write one of: present, excused, absent" in problems
        assert not dash_duo.find_element("#data-confirm").is_enabled()
        assert dash_duo.find_element("#data-upload-name").text == "bad-marks.csv"

        # Undo from the history: click the row, then confirm in the browser's dialog.
        row = dash_duo.driver.find_element(
            By.XPATH, "//div[@id='data-history']//div[@role='row'][.//*[text()='good-marks.csv']]"
        )
        dash_duo.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", row
        )
        row.click()
        batch = last_batch(demo_app)
        dash_duo.wait_for_element("#data-undo-id")
        WebDriverWait(dash_duo.driver, 5).until(
            lambda d: d.find_element(By.ID, "data-undo-id").get_attribute("value") == str(batch)
        )
        click(dash_duo, "#data-undo-button")
        WebDriverWait(dash_duo.driver, 5).until(expected_conditions.alert_is_present())
        alert = dash_duo.driver.switch_to.alert
        assert f"#{batch}" in alert.text
        alert.accept()
        dash_duo.wait_for_contains_text("#data-undo-summary", "is undone")
        assert figures(demo_app, target["group"], day)["sessions_held"] == 0
        assert page_errors(dash_duo) == []
    finally:
        undo_all_since(demo_app, start)


def test_session_entered_by_hand(dash_duo, demo_app):
    day = dt.date(2025, 7, 20)
    target = free_group(demo_app, "Calgary", day, men=2)
    start = last_batch(demo_app)
    try:
        dash_duo.start_server(demo_app, navigate=False)
        sign_in(dash_duo, "coord-calgary")
        driver = dash_duo.driver
        click(dash_duo, "#data-entry-group")
        dash_duo.wait_for_element(f'label[role=option] input[value="{target["group"]}"]')
        driver.find_element(
            By.XPATH, f"//label[@role='option'][.//span[text()=\"{target['group']}\"]]"
        ).click()
        date = driver.find_element(By.CSS_SELECTOR, "input#data-entry-date")
        date.send_keys(Keys.CONTROL, "a")
        date.send_keys(day.isoformat(), Keys.ENTER)
        dash_duo.wait_for_contains_text("#data-entry-status", "saving records one")
        click(dash_duo, "h1")  # close the calendar
        click(dash_duo, "#data-entry-all-present")
        click(dash_duo, "#data-entry-save")
        dash_duo.wait_for_contains_text("#data-entry-summary", "Saved as batch #")
        men = len(target["members"])
        assert (
            f"{men} present, 0 excused, 0 absent"
            in dash_duo.find_element("#data-entry-summary").text
        )
        assert figures(demo_app, target["group"], day)["attendance"] == men
        dash_duo.wait_for_contains_text("#data-entry-status", "A session is recorded")
        dash_duo.wait_for_contains_text("#data-history", "entered-by-hand")
        assert page_errors(dash_duo) == []
    finally:
        undo_all_since(demo_app, start)
