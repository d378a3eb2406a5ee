"""/impact through the guarded callback endpoint: the funder's figures equal metrics under
suppression, the fiscal-year picker and the URL agree, downloads match the screen."""

from __future__ import annotations

import base64
import datetime as dt
import io
from urllib.parse import parse_qs

import pandas as pd
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dashboard import metrics, report
from dashboard.access import Scope
from dashboard.db import get_engine, session_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.models import AuditEvent
from tests.dash_calls import callback_body, callback_outputs, run_callback

FY = "?from=2025-04-01&to=2026-03-31"
# A thin slice of the demo data: some network has fewer than 5 men in it.
SMALL = FY + "&age=18-24&community=Indigenous"
FIGURES = [
    ("sessions_held", "Sessions held"),
    ("men_reached", "Men reached"),
    ("new_members", "New members"),
    ("attendance_hours", "Attendance-hours"),
]


def text_of(node) -> str:
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list):
        return "".join(text_of(n) for n in node)
    if isinstance(node, dict):
        return text_of(node.get("props", {}).get("children", ""))
    return ""


def table_rows(tree) -> dict[str, list[str]]:
    """Each table row of the page: its figure's name -> the texts of its value cells."""
    rows: dict[str, list[str]] = {}

    def walk(node) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            if node.get("type") == "Tr":
                cells = node["props"]["children"]
                if isinstance(cells, list) and cells and cells[0].get("type") == "Th":
                    first = cells[0]["props"]["children"]
                    name = first[0] if isinstance(first, list) else first
                    rows.setdefault(str(name), [text_of(c) for c in cells[1:]])
                return
            walk(node.get("props", {}).get("children"))

    walk(tree)
    return rows


def filters_of(search: str, networks: tuple[str, ...] = ()) -> Filters:
    args = parse_qs(search.lstrip("?"))
    return Filters(
        start=dt.date.fromisoformat(args["from"][0]),
        end=dt.date.fromisoformat(args["to"][0]),
        networks=networks,
        age_bands=tuple(args.get("age", ())),
        communities=tuple(args.get("community", ())),
    )


def expected_outputs(demo_url, search: str):
    """The outputs per network and combined from metrics, through the gate as a funder
    receives them (networks beside their total: SPEC §4), and the exact ones."""
    gate = Gate(Scope(role="funder"), 5, 10)
    with get_engine(demo_url).connect() as conn:
        names = ["Calgary", "Edmonton"]
        frame = pd.DataFrame([metrics.outputs(conn, filters_of(search, (n,))) for n in names])
        combined = metrics.outputs(conn, filters_of(search))
    result = gate.table(frame, totals=("column",))
    total = gate.table(pd.DataFrame([combined]))
    return result.frame, total.frame, names, frame, combined


def shown(value, key: str, exact: dict) -> str:
    """A cell of the page as SPEC §4 says it reads: the value, or `<5` for a count of fewer
    than 5 men and `—` for anything else hidden, with why it is hidden under it."""
    if value is not None:
        return f"{value:,.0f}"
    base = "men_reached" if key == "attendance_hours" else key
    small = exact[base] < 5
    text = "<5" if small and key in ("men_reached", "new_members") else "—"
    why = "fewer than 5 men" if small else "to protect a small figure beside it"
    return f"{text}hidden: {why}"


@pytest.mark.parametrize("search", [FY, SMALL])
def test_funder_sees_metrics_under_suppression(demo_app, demo_url, client_for, search):
    client = client_for("funder")
    out = run_callback(
        client, demo_app, "impact-content.children", [("impact-location", "search", search)]
    )
    rows = table_rows(out["impact-content"]["children"])
    safe, total, names, raw, raw_total = expected_outputs(demo_url, search)
    hidden = []
    for key, label in FIGURES:
        for i, name in enumerate(names):
            value = safe.loc[i, key]
            hidden += [(name, key)] if value is None else []
            assert rows[label][i] == shown(value, key, raw.loc[i]), (label, name, rows[label])
        value = total.loc[0, key]
        assert rows[label][2] == shown(value, key, raw_total), (label, rows[label])
    if search == SMALL:
        assert hidden, "the thin slice should hide something"


def _raw_count(demo_url, search, network, key) -> int:
    with get_engine(demo_url).connect() as conn:
        return metrics.outputs(conn, filters_of(search, (network,)))[key]


def test_period_line_and_comparison(demo_app, client_for):
    out = run_callback(
        client_for("funder"),
        demo_app,
        "impact-period-text.children",
        [("impact-location", "search", FY)],
    )
    line = out["impact-period-text"]["children"]
    assert line.startswith("FY2025-26 (1 Apr 2025 – 31 Mar 2026)")
    assert line.endswith("compared with FY2024-25")
    rows = table_rows(out["impact-content"]["children"])
    assert {"Matched pairs", "Mean change (95% CI)", "Reliably improved"} <= set(rows)


def test_fiscal_year_picker_and_url_agree(demo_app, client_for):
    client = client_for("funder")
    out = run_callback(
        client,
        demo_app,
        "impact-fy.value",
        [("impact-location", "search", "?from=2024-04-01&to=2025-03-31&network=Calgary")],
    )
    assert out["impact-fy"]["value"] == "FY2024-25"
    labels = [o["value"] for o in out["impact-fy"]["options"]]
    assert labels[-1] == "FY2021-22" and "FY2025-26" in labels  # the data's first year on
    assert (
        run_callback(
            client,
            demo_app,
            "impact-fy.value",
            [("impact-location", "search", "?from=2025-04-01&to=2025-04-30")],
        )["impact-fy"]["value"]
        is None
    )  # any other period: no fiscal year
    # Choosing a year writes its dates into the URL, keeping the other filters.
    out = run_callback(
        client,
        demo_app,
        "impact-location.search",
        [("impact-fy", "value", "FY2023-24")],
        [("impact-location", "search", "?from=2024-04-01&to=2025-03-31&network=Calgary")],
    )
    assert out["impact-location"]["search"] == "?from=2023-04-01&to=2024-03-31&network=Calgary"


def download(client, app, button: str, search: str) -> dict:
    outputs = callback_outputs(app, "impact-pdf-download.data")
    body = callback_body(
        outputs,
        [
            ("impact-pdf-button", "n_clicks", None),
            ("impact-csv-button", "n_clicks", None),
            ("impact-xlsx-button", "n_clicks", None),
        ],
        [("impact-location", "search", search)],
    )
    for item in body["inputs"]:
        if item["id"] == button:
            item["value"] = 1
    body["changedPropIds"] = [f"{button}.n_clicks"]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["response"]


def test_csv_and_xlsx_downloads_match_the_screen(demo_app, demo_url, client_for):
    from openpyxl import load_workbook

    client = client_for("funder")
    screen = table_rows(
        run_callback(
            client, demo_app, "impact-content.children", [("impact-location", "search", SMALL)]
        )["impact-content"]["children"]
    )
    out = download(client, demo_app, "impact-csv-button", SMALL)
    data = out["impact-csv-download"]["data"]
    assert data["filename"] == "impact-summary-FY2025-26.csv"
    csv = pd.read_csv(
        io.BytesIO(base64.b64decode(data["content"])), encoding="utf-8-sig", keep_default_na=False
    )
    now = csv[csv["period"] == "FY2025-26"]
    for _, label in FIGURES:
        assert list(now[now["figure"] == label]["shown"]) == [
            cell.split("hidden:")[0] for cell in screen[label][:3]
        ]
    assert (now["note"] == "hidden: fewer than 5 men").any()
    hidden = now[now["shown"] == "<5"]
    assert (hidden["value"] == "").all()

    out = download(client, demo_app, "impact-xlsx-button", SMALL)
    data = out["impact-xlsx-download"]["data"]
    sheet = load_workbook(io.BytesIO(base64.b64decode(data["content"])))["Figures"]
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[7] for r in rows[1:]] == list(csv["shown"])
    with session_scope(get_engine(demo_url)) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.username == "funder")
        ).all()
        details = [e.detail for e in events]
    assert any("(csv)" in d and "suppressed" in d for d in details)
    assert any("(xlsx)" in d for d in details)


def test_pdf_download_through_the_guarded_endpoint(demo_app, client_for):
    out = download(client_for("funder"), demo_app, "impact-pdf-button", FY)
    data = out["impact-pdf-download"]["data"]
    assert data["filename"] == "impact-summary-FY2025-26.pdf" and data["base64"]
    content = base64.b64decode(data["content"])
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= 3
    assert "ready" in out["impact-download-status"]["children"]


def test_coordinator_sees_his_network_exactly(demo_app, demo_url, client_for):
    out = run_callback(
        client_for("coord-calgary"),
        demo_app,
        "impact-content.children",
        [("impact-location", "search", SMALL)],
    )
    rows = table_rows(out["impact-content"]["children"])
    assert len(rows["Men reached"]) == 3  # Calgary, its last year, the change
    assert rows["Men reached"][0] == f"{_raw_count(demo_url, SMALL, 'Calgary', 'men_reached'):,}"
    assert "fewer than 5 men" not in str(out)


@pytest.mark.parametrize("user", ["funder", "leadership", "coord-edmonton", "admin"])
def test_every_role_with_the_page_reaches_its_callbacks(demo_app, client_for, user):
    out = run_callback(
        client_for(user),
        demo_app,
        "impact-period-text.children",
        [("impact-location", "search", FY)],
    )
    assert out["impact-period-text"]["children"].startswith("FY2025-26")


def test_report_module_is_what_the_page_reads(demo_app, client_for):
    """The page's cells are report.cell of report.impact_figures: one source for every view."""
    client = client_for("leadership")
    out = run_callback(
        client, demo_app, "impact-content.children", [("impact-location", "search", FY)]
    )
    rows = table_rows(out["impact-content"]["children"])
    with demo_app.server.test_request_context():
        from dashboard.access import Scope
        from dashboard.service import current_service

        figures = report.impact_figures(current_service(), Scope(role="leadership"), filters_of(FY))
    for label, key in (
        ("Men ending a fixed-length group", "completion_base"),
        ("Places ended", "completion_enrolments"),
        ("Completion rate", "completion_rate"),
    ):
        assert rows[label][2] == report.cell(figures, "outputs", "Combined", key)[0], label


# --- In a browser ---


def test_funder_changes_the_year_and_downloads_the_pdf(dash_duo, demo_app):
    from tests.browser import choose_option, console_errors, sign_in

    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, "funder", "/impact")
    dash_duo.wait_for_contains_text("#impact-period-text", "FY2025-26", timeout=15)
    choose_option(dash_duo, "impact-fy", "FY2024-25")
    dash_duo.wait_for_contains_text("#impact-period-text", "FY2024-25 (1 Apr 2024", timeout=15)
    assert "from=2024-04-01" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text("#filter-summary", "01 Apr 2024", timeout=10)
    dash_duo.find_element("#impact-pdf-button").click()
    dash_duo.wait_for_contains_text(
        "#impact-download-status", "impact-summary-FY2024-25.pdf ready", timeout=60
    )
    assert console_errors(dash_duo) == []
