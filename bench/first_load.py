"""First page load to a drawn chart, in headless chromium, against a running app.

    python app.py &   # or any deployment
    python bench/first_load.py [--url http://127.0.0.1:8050] [--user admin]

Signs in, then for several filter sets opens the overview and times navigation until the
attendance chart has drawn its lines (SPEC §6: under 2 s at demo scale).
"""

from __future__ import annotations

import argparse
import statistics
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

QUERIES = [
    "?period=last-fy",
    "?period=this-fy&network=Calgary",
    "?period=last-quarter&network=Edmonton",
    "?period=all&grain=quarter",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    options = Options()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--disable-background-networking",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options)
    try:
        driver.get(args.url + "/login")
        driver.find_element(By.ID, "username").send_keys(args.user)
        driver.find_element(By.ID, "password").send_keys(args.password)
        driver.find_element(By.ID, "login-submit").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "nav-links"))
        times = []
        for _ in range(args.repeat):
            for query in QUERIES:
                started = time.perf_counter()
                driver.get(f"{args.url}/{query}")
                WebDriverWait(driver, 60).until(
                    lambda d: d.find_elements(
                        By.CSS_SELECTOR, "#overview-trend .scatterlayer .trace"
                    )
                )
                times.append(time.perf_counter() - started)
                print(f"{query:45} {times[-1]:.2f} s")
        print(f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
