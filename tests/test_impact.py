"""/impact through the guarded callback endpoint: leadership's figures equal metrics under
suppression, the fiscal-year picker and the URL agree, downloads match the screen; a funder
reads published releases only, whatever the URL says (SPEC §4)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from urllib.parse import parse_qs

import pandas as pd
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from callbacks.shell import SYNCED
from dashboard import metrics, releases, report
from dashboard.access import Scope
from dashboard.db import get_engine, session_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.models import AuditEvent
from dashboard.settings import Settings
from tests.conftest import TEST_PASSWORD, login
from tests.dash_calls import callback_body, callback_outputs, dash_call, run_callback

FY = "?from=2025-04-01&to=2026-03-31"
# A thin slice of the demo data: some network has fewer than 5 men in it.
SMALL = FY + "&age=18-24&community=Indigenous"
LEADERSHIP = Scope(role="leadership", username="leadership")
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
def test_leadership_sees_metrics_under_suppression(demo_app, demo_url, client_for, search):
    client = client_for("leadership")
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
        client_for("leadership"),
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
    client = client_for("leadership")
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


def pickers(client, app, search: str) -> tuple[str | None, str | None]:
    out = run_callback(client, app, "impact-fy.value", [("impact-location", "search", search)])
    return out["impact-fy"]["value"], out["impact-quarter"]["value"]


def test_the_fiscal_year_and_quarter_pickers_are_the_period(demo_app, client_for):
    client = client_for("leadership")
    # The pickers read the URL: a whole year, one of its quarters, other dates.
    assert pickers(client, demo_app, "?from=2024-04-01&to=2025-03-31") == ("FY2024-25", "year")
    assert pickers(client, demo_app, "?from=2024-07-01&to=2024-09-30") == ("FY2024-25", "Q2")
    assert pickers(client, demo_app, "?from=2025-01-01&to=2025-03-31") == ("FY2024-25", "Q4")
    assert pickers(client, demo_app, "?from=2024-07-01&to=2024-10-31") == (None, None)
    # Choosing a quarter of the chosen year writes its dates.
    year = "?from=2024-04-01&to=2025-03-31&network=Calgary"
    out = run_callback(
        client,
        demo_app,
        "impact-location.search",
        [("impact-quarter", "value", "Q3")],
        [("impact-fy", "value", "FY2024-25"), ("impact-location", "search", year)],
    )
    q3 = out["impact-location"]["search"]
    assert q3 == "?from=2024-10-01&to=2024-12-31&network=Calgary"
    # A year chosen is the whole year; a quarter of it is chosen beside it.
    out = run_callback(
        client,
        demo_app,
        "impact-location.search",
        [("impact-fy", "value", "FY2023-24")],
        [("impact-location", "search", q3)],
    )
    assert out["impact-location"]["search"] == "?from=2023-04-01&to=2024-03-31&network=Calgary"
    out = run_callback(
        client,
        demo_app,
        "impact-location.search",
        [("impact-quarter", "value", "year")],
        [("impact-fy", "value", "FY2024-25"), ("impact-location", "search", q3)],
    )
    assert out["impact-location"]["search"] == year
    # With other dates in the URL, a quarter is one of the year they start in.
    out = run_callback(
        client,
        demo_app,
        "impact-location.search",
        [("impact-quarter", "value", "Q1")],
        [
            ("impact-fy", "value", None),
            ("impact-location", "search", "?from=2024-07-01&to=2024-10-31"),
        ],
    )
    assert out["impact-location"]["search"] == "?from=2024-04-01&to=2024-06-30"


def test_one_period_control_on_impact_and_a_shared_link_opens_on_it(demo_app, client_for):
    """The filter bar's Period is hidden on /impact (the pickers are the period) and shown
    elsewhere; the filter bar, the pickers and the summary of a shared link name one year."""
    client = client_for("leadership")
    for path, style in (("/impact", {"display": "none"}), ("/", {}), ("/surveys", {})):
        out = run_callback(client, demo_app, "filter-period.style", [("url", "pathname", path)])
        assert out["filter-period"]["style"] == style, path
    link = "?from=2023-04-01&to=2024-03-31&network=Edmonton"
    other = client_for("admin")  # someone else opens the link
    bar = run_callback(
        other,
        demo_app,
        "filter-summary.children",
        [("url", "search", link)]
        + [(c, "value", None) for c in SYNCED]
        + [("filter-dates", "start_date", None), ("filter-dates", "end_date", None)],
    )
    assert bar["filter-dates"] == {"start_date": "2023-04-01", "end_date": "2024-03-31"}
    assert bar["filter-summary"]["children"].startswith("FY2023-24: 01 Apr 2023 – 31 Mar 2024")
    assert pickers(other, demo_app, link) == ("FY2023-24", "year")
    line = run_callback(
        other, demo_app, "impact-period-text.children", [("impact-location", "search", link)]
    )["impact-period-text"]["children"]
    assert line.startswith("FY2023-24 (1 Apr 2023 – 31 Mar 2024)")


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

    client = client_for("leadership")
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
            select(AuditEvent).where(
                AuditEvent.action == "export", AuditEvent.username == "leadership"
            )
        ).all()
        details = [e.detail for e in events]
    assert any("(csv)" in d and "suppressed" in d for d in details)
    assert any("(xlsx)" in d for d in details)


def test_pdf_download_through_the_guarded_endpoint(demo_app, client_for):
    out = download(client_for("leadership"), demo_app, "impact-pdf-button", FY)
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
def test_every_role_with_the_page_reaches_its_callbacks(demo_app, client_for, user, published):
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


# --- Funders: published releases only, whatever the URL says ---

FUNDER = Scope(role="funder", username="funder")
# URLs a funder might craft: a thin slice, a group, age bands, custom dates a day apart.
CRAFTED = [
    SMALL,
    FY + "&group=Calgary%20Men%27s%20Shed&network=Calgary",
    "?from=2025-04-01&to=2025-04-23&age=55-64&age=65%2B",
    "?from=2025-04-01&to=2025-04-24&community=GBT2SQ%2B&program=fathers",
]


@pytest.fixture
def published(demo_url):
    """A published FY2025-26 release in the shared demo database; the funder's latest."""
    engine = get_engine(demo_url)
    if releases.latest(engine, FUNDER, "FY2025-26") is None:
        settings = Settings(database_url=demo_url, secret_key="x", demo_mode=False)
        draft = releases.prepare(engine, "FY2025-26", (), LEADERSHIP, settings)
        releases.publish(engine, draft["id"], LEADERSHIP)
    return releases.latest(engine, FUNDER)


def rendered(engine, release: dict) -> tuple[str, list]:
    """The period line and the summary of a release's stored figures, as the page renders
    them (serialised as the callback endpoint does)."""
    from plotly.io.json import to_json_plotly

    from callbacks.impact import render_summary
    from dashboard.models import Release

    with session_scope(engine) as session:
        stored = session.get(Release, release["id"]).figures  # the JSON column itself
    line, content = render_summary(releases.thaw(stored))
    return line, json.loads(to_json_plotly(content))


def test_funder_callbacks_answer_with_the_release_whatever_the_url(
    demo_app, demo_url, client_for, published
):
    engine = get_engine(demo_url)
    line, content = rendered(engine, published)
    draft = releases.prepare(
        engine,
        "FY2024-25",
        (),
        LEADERSHIP,
        Settings(database_url=demo_url, secret_key="x", demo_mode=False),
    )
    client = client_for("funder")
    csv = report.to_csv(releases.get(engine, published["id"], FUNDER)["figures"])
    called, called_pdf = set(), False
    for search in CRAFTED:
        # The explorer's callbacks, asked with a crafted URL: the release, nothing else.
        out = run_callback(
            client, demo_app, "impact-content.children", [("impact-location", "search", search)]
        )
        called.add(callback_outputs(demo_app, "impact-content.children")[0])
        assert out["impact-period-text"]["children"] == line
        assert out["impact-content"]["children"] == content
        out = run_callback(
            client, demo_app, "impact-fy.value", [("impact-location", "search", search)]
        )
        called.add(("impact-fy", "value"))
        assert out["impact-fy"] == {"value": None, "options": []}
        response = dash_call(
            client,
            callback_outputs(demo_app, "impact-location.search"),
            [("impact-fy", "value", "FY2023-24")],
            [("impact-location", "search", search)],
        )
        called.add(("impact-location", "search"))
        # No free period for a funder: the URL is left alone.
        assert response.status_code in (200, 204)
        assert not (response.get_json(silent=True) or {}).get("response")
        quarter = dash_call(
            client,
            callback_outputs(demo_app, "impact-location.search", "impact-quarter"),
            [("impact-quarter", "value", "Q2")],
            [("impact-fy", "value", "FY2023-24"), ("impact-location", "search", search)],
        )
        called.add(callback_outputs(demo_app, "impact-location.search", "impact-quarter")[0])
        assert quarter.status_code in (200, 204)
        assert not (quarter.get_json(silent=True) or {}).get("response")
        for button in ("impact-csv-button", "impact-pdf-button")[: 1 if called_pdf else 2]:
            data = download(client, demo_app, button, search)
            name = f"impact-summary-FY2025-26-release-{published['id']}"
            if button == "impact-csv-button":
                assert base64.b64decode(data["impact-csv-download"]["data"]["content"]) == csv
                assert data["impact-csv-download"]["data"]["filename"] == f"{name}.csv"
            else:
                assert data["impact-pdf-download"]["data"]["filename"] == f"{name}.pdf"
        called.add(("impact-pdf-download", "data"))
        called_pdf = True
    # His own callbacks: the picker lists published releases only, latest first.
    out = run_callback(
        client, demo_app, "impact-release.options", [("impact-release-ready", "data", True)]
    )
    called.add(("impact-release", "options"))
    ids = [o["value"] for o in out["impact-release"]["options"]]
    assert out["impact-release"]["value"] == published["id"] == ids[0]
    assert draft["id"] not in ids
    for asked in (published["id"], draft["id"], "1 OR 1=1", None):
        out = run_callback(
            client,
            demo_app,
            "impact-release-content.children",
            [("impact-release", "value", asked)],
        )
        called.add(("impact-release-period", "children"))
        assert out["impact-release-period"]["children"] == line
        assert out["impact-release-content"]["children"] == content
        assert f"Release #{published['id']}" in str(out["impact-release-note"])
        assert "2024-25" not in str(out["impact-release-note"])
    outputs = callback_outputs(demo_app, "impact-release-csv-download.data")
    called.add(outputs[0])
    for asked in (published["id"], draft["id"]):
        body = callback_body(
            outputs,
            [
                ("impact-release-pdf-button", "n_clicks", None),
                ("impact-release-csv-button", "n_clicks", 1),
                ("impact-release-xlsx-button", "n_clicks", None),
            ],
            [("impact-release", "value", asked)],
        )
        body["changedPropIds"] = ["impact-release-csv-button.n_clicks"]
        response = client.post("/_dash-update-component", json=body)
        data = response.get_json()["response"]["impact-release-csv-download"]["data"]
        assert base64.b64decode(data["content"]) == csv
    # The Releases section: refused to a funder, nothing of a draft shown.
    for output, inputs in (
        (
            "impact-rel-status.children",
            [
                ("impact-rel-ready", "data", True),
                ("impact-rel-prepare", "n_clicks", 1),
                ("impact-rel-publish", "n_clicks", None),
            ],
        ),
        ("impact-rel-preview.children", [("impact-rel-pick", "value", draft["id"])]),
    ):
        state = (
            [
                ("impact-rel-period", "value", "FY2025-26"),
                ("impact-rel-programs", "value", []),
                ("impact-rel-pick", "value", draft["id"]),
            ]
            if output.startswith("impact-rel-status")
            else None
        )
        out = run_callback(client, demo_app, output, inputs, state)
        called.add(callback_outputs(demo_app, output, inputs[0][0])[0])
        assert "Only leadership and admin users" in str(out)
        assert "Men reached" not in str(out)
    assert releases.get(engine, draft["id"], LEADERSHIP)["status"] == "draft"
    # Every server-side callback of the page was asked.
    server_side = {
        tuple(key.strip(".").split("...")[0].rsplit(".", 1))
        for key, spec in demo_app.callback_map.items()
        if key.strip(".").startswith("impact-") and spec.get("callback") is not None
    }
    assert server_side <= called | {("impact-print-done", "children")}, server_side - called


def test_funder_is_refused_every_other_page(demo_app, client_for):
    client = client_for("funder")
    for path in ("/", "/attendance", "/retention", "/surveys", "/planning"):
        out = run_callback(client, demo_app, "page.children", [("url", "pathname", path)])
        assert "Not available" in str(out["page"]["children"]), path
    cards = next(k for k in demo_app.callback_map if "overview-value-sessions_held" in k)
    assert (
        dash_call(
            client,
            callback_outputs(demo_app, cards.strip(".").split("...")[0]),
            [("url", "search", FY)],
        ).status_code
        == 403
    )
    out = run_callback(client, demo_app, "page.children", [("url", "pathname", "/impact")])
    page = str(out["page"]["children"])
    assert "impact-release" in page and "impact-fy" not in page and "impact-rel-" not in page
    response = login(demo_app.server.test_client(), "funder", next="/")
    assert response.headers["Location"] == "/impact"  # he lands on his releases


@pytest.fixture
def small_world_app(engine, database_url):
    """Calgary with 8 men, Edmonton with 3, in FY2025-26; one user per role."""
    from dashboard.app_factory import create_app
    from dashboard.users import create_user
    from tests.factories import Builder

    with session_scope(engine) as session:
        w = Builder(session)
        for network, group, codes in (
            ("Calgary", "Bow circle", [f"CGY-{i:06d}" for i in range(1, 9)]),
            ("Edmonton", "River circle", [f"EDM-{i:06d}" for i in range(1, 4)]),
        ):
            w.network(network)
            w.group(group, network, start="2025-04-01")
            for code in codes:
                w.member(code, network)
                w.enroll(code, group, "2025-04-01")
            for week in range(6):
                day = (dt.date(2025, 5, 5) + dt.timedelta(weeks=week)).isoformat()
                w.session(group, day, dict.fromkeys(codes, "present"))
        w.done()
        for username, role, networks in (
            ("leadership", "leadership", []),
            ("admin", "admin", []),
            ("funder", "funder", []),
            ("coord", "coordinator", ["Calgary"]),
        ):
            create_user(session, username, role, networks, TEST_PASSWORD)
    settings = Settings(database_url=database_url, secret_key="test-secret", demo_mode=False)
    return create_app(settings, prepare=False)


def signed_in(app, username):
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


def manage(client, app, trigger, period="FY2025-26", picked=None):
    inputs = [
        ("impact-rel-ready", "data", True),
        ("impact-rel-prepare", "n_clicks", 1 if trigger == "prepare" else None),
        ("impact-rel-publish", "n_clicks", 1 if trigger == "publish" else None),
    ]
    outputs = callback_outputs(app, "impact-rel-status.children")
    body = callback_body(
        outputs,
        inputs,
        [
            ("impact-rel-period", "value", period),
            ("impact-rel-programs", "value", []),
            ("impact-rel-pick", "value", picked),
        ],
    )
    body["changedPropIds"] = [f"impact-rel-{trigger}.n_clicks"] if trigger else []
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["response"]


def men_reached_cells(figures: dict) -> list[str]:
    """The page's text of each column's men reached: the value, then why it is hidden."""
    return [
        "".join(t if i == 0 else f"hidden: {t}" for i, t in enumerate(cell) if t)
        for cell in (report.cell(figures, "outputs", c, "men_reached") for c in figures["columns"])
    ]


def test_leadership_prepares_previews_and_publishes(small_world_app, engine):
    app = small_world_app
    lead, funder = signed_in(app, "leadership"), signed_in(app, "funder")
    out = manage(lead, app, "prepare")
    draft = out["impact-rel-pick"]["value"]
    assert out["impact-rel-status"]["children"].startswith(f"Draft #{draft} prepared")
    assert "FY2025-26-Q1" in [o["value"] for o in out["impact-rel-period"]["options"]]
    preview = run_callback(
        lead, app, "impact-rel-preview.children", [("impact-rel-pick", "value", draft)]
    )["impact-rel-preview"]["children"]
    assert "not yet seen by funders" in str(preview)
    rows = table_rows(preview)
    frozen = releases.get(engine, draft, LEADERSHIP)["figures"]
    assert rows["Men reached"][:3] == men_reached_cells(frozen)
    assert rows["Men reached"][1].startswith("<5")  # Edmonton's three men
    # Not yet the funder's.
    out = run_callback(
        funder, app, "impact-release.options", [("impact-release-ready", "data", True)]
    )
    assert out["impact-release"] == {"options": [], "value": None}
    out = run_callback(
        funder, app, "impact-release-content.children", [("impact-release", "value", draft)]
    )
    assert out["impact-release-period"]["children"] == "No release published yet"
    # A coordinator may not prepare or publish.
    coord = signed_in(app, "coord")
    assert manage(coord, app, "publish", picked=draft)["impact-rel-status"]["children"] == (
        "Only leadership and admin users prepare and publish releases."
    )
    out = manage(lead, app, "publish", picked=draft)
    assert (
        out["impact-rel-status"]["children"] == f"Release #{draft} published: funders see it now."
    )
    out = run_callback(
        funder, app, "impact-release-content.children", [("impact-release", "value", None)]
    )
    assert table_rows(out["impact-release-content"]["children"]) == rows

    # Three more Edmonton men: a correction, previewed with what it changes, then published.
    from dashboard.models import Group, Member, Network
    from tests.factories import Builder

    with session_scope(engine) as session:
        w = Builder(session)
        w.networks["Edmonton"] = session.scalar(select(Network).where(Network.name == "Edmonton"))
        w.groups["River circle"] = session.scalar(select(Group).where(Group.name == "River circle"))
        for code in [f"EDM-{i:06d}" for i in range(1, 4)]:
            w.members[code] = session.scalar(select(Member).where(Member.code == code))
        for code in [f"EDM-{i:06d}" for i in range(4, 7)]:
            w.member(code, "Edmonton")
        w.session("River circle", "2025-09-01", dict.fromkeys(w.members, "present"))
        w.done()
    out = run_callback(
        funder, app, "impact-release-content.children", [("impact-release", "value", draft)]
    )
    assert table_rows(out["impact-release-content"]["children"]) == rows  # frozen
    correction = manage(lead, app, "prepare")["impact-rel-pick"]["value"]
    preview = run_callback(
        lead, app, "impact-rel-preview.children", [("impact-rel-pick", "value", correction)]
    )["impact-rel-preview"]["children"]
    assert f"Publishing it supersedes release #{draft}" in str(preview)
    out = manage(signed_in(app, "admin"), app, "publish", picked=correction)
    assert out["impact-rel-status"]["children"].endswith(f"It supersedes #{draft} (kept).")
    # The funder: the correction by default, the old one still there with a note.
    out = run_callback(
        funder, app, "impact-release.options", [("impact-release-ready", "data", True)]
    )
    assert [o["value"] for o in out["impact-release"]["options"]] == [correction, draft]
    assert out["impact-release"]["value"] == correction
    assert out["impact-release"]["options"][1]["label"].endswith("· superseded")
    old = run_callback(
        funder, app, "impact-release-content.children", [("impact-release", "value", draft)]
    )
    note = old["impact-release-note"]["children"]
    assert f"release #{correction}" in str(note) and "supersedes it" in str(note)
    diff = table_rows(note)
    new_figures = releases.get(engine, correction, LEADERSHIP)["figures"]
    first = next(
        c for c in releases.difference(frozen, new_figures) if c["figure"] == "Men reached"
    )
    assert diff["Men reached"] == [
        first["section"],
        first["column"],
        first["period"],
        first["old"],
        first["new"],
    ]
    assert "'Edmonton'" in str(note) and "'<5'" in str(note)
    assert table_rows(old["impact-release-content"]["children"]) == rows
    new = run_callback(
        funder, app, "impact-release-content.children", [("impact-release", "value", None)]
    )
    assert table_rows(new["impact-release-content"]["children"])["Men reached"][
        :3
    ] == men_reached_cells(new_figures)


# --- In a browser ---


def test_leadership_changes_the_year_and_downloads_the_pdf(dash_duo, demo_app):
    from tests.browser import choose_option, console_errors, sign_in

    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, "leadership", "/impact")
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


def test_the_page_shows_progress_while_a_file_is_prepared(demo_app, client_for):
    """Issue 12 item 10: while the PDF is built, its buttons are disabled and a line says what
    is happening (the download callback's `running` outputs, which the browser applies)."""
    from callbacks.impact import PREPARING

    deps = client_for("admin").get("/_dash-dependencies").get_json()
    (download,) = [d for d in deps if "impact-pdf-download.data" in d["output"]]
    assert download["running"] == {
        "running": {
            "impact-pdf-button.disabled": True,
            "impact-csv-button.disabled": True,
            "impact-xlsx-button.disabled": True,
            "impact-download-progress.children": PREPARING,
        },
        "runningOff": {
            "impact-pdf-button.disabled": False,
            "impact-csv-button.disabled": False,
            "impact-xlsx-button.disabled": False,
            "impact-download-progress.children": "",
        },
    }
    assert "PDF" in PREPARING
