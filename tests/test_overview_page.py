"""Overview callbacks for each class of filters, checked against the metric engine."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import catalogue, metrics
from dashboard.access import Scope
from dashboard.db import get_engine
from dashboard.filters import Filters
from tests.dash_calls import run_callback

FY = "?from=2025-04-01&to=2026-03-31"
CARDS = "overview-value-sessions_held.children"


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture
def small_group(demo_settings):
    """A group and a month in which it reached fewer than 5 men (but some)."""
    engine = get_engine(demo_settings.database_url)
    with engine.connect() as conn:
        for month in range(4, 13):
            start = dt.date(2025, month, 1)
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            table = metrics.group_table(conn, Filters(start=start, end=end))
            small = table[(table["men_reached"] > 0) & (table["men_reached"] < 5)]
            if len(small):
                return small.iloc[0]["group"], start, end, int(small.iloc[0]["men_reached"])
    pytest.skip("the demo data has no small group-month")


@pytest.fixture
def uneven_networks(demo_settings):
    """A month, a group of one network that reached fewer than 5 men in it and a group of
    the other network that reached 5 or more: the networks side by side then show one small
    cell beside a large one."""
    engine = get_engine(demo_settings.database_url)
    with engine.connect() as conn:
        for month in range(4, 13):
            start = dt.date(2025, month, 1)
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            table = metrics.group_table(conn, Filters(start=start, end=end))
            small = table[(table["men_reached"] > 0) & (table["men_reached"] < 5)]
            for _, row in small.iterrows():
                large = table[(table["network"] != row["network"]) & (table["men_reached"] >= 5)]
                if len(large):
                    other = large.iloc[0]
                    search = f"?from={start}&to={end}&group={row['group']}&group={other['group']}"
                    return search, row["network"], other["network"], int(other["men_reached"])
    pytest.skip("the demo data has no month with a small group beside a large one")


def networks_cells(body) -> tuple[list[str], dict[str, list[tuple[str, str | None]]]]:
    """The side-by-side table as (column names, {figure label: [(text, title) per cell]})."""
    head, rows = body["overview-networks"]["children"]["props"]["children"]
    columns = [th["props"]["children"] for th in head["props"]["children"]["props"]["children"]]
    cells = {}
    for row in rows["props"]["children"]:
        th, *tds = row["props"]["children"]
        cells[th["props"]["children"]] = [
            (td["props"]["children"], td["props"].get("title")) for td in tds
        ]
    return columns[1:], cells


@pytest.mark.parametrize(
    "search, filters",
    [
        (FY, {}),
        (FY + "&network=Calgary", {"networks": ("Calgary",)}),
        (FY + "&program=wellbeing-10", {"program_types": ("wellbeing-10",)}),
        (FY + "&age=25-34&age=35-44", {"age_bands": ("25-34", "35-44")}),
    ],
)
def test_cards_agree_with_the_metric_engine(demo_app, demo_settings, client_for, search, filters):
    response = run_callback(
        client_for("admin"), demo_app, CARDS, [("overview-url", "search", search)]
    )
    f = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), **filters)
    with get_engine(demo_settings.database_url).connect() as conn:
        expected = metrics.headline(conn, f)
    assert number(response["overview-value-sessions_held"]["children"]) == expected["sessions_held"]
    assert number(response["overview-value-men_reached"]["children"]) == expected["men_reached"]
    assert number(response["overview-value-new_members"]["children"]) == expected["new_members"]
    assert (
        response["overview-value-retention_12w"]["children"] == f"{expected['retention_12w']:.0%}"
    )


def test_one_group(demo_app, demo_settings, client_for):
    with get_engine(demo_settings.database_url).connect() as conn:
        group = metrics.group_table(
            conn, Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
        ).iloc[0]
    response = run_callback(
        client_for("admin"),
        demo_app,
        CARDS,
        [("overview-url", "search", FY + f"&group={group['group']}")],
    )
    assert number(response["overview-value-sessions_held"]["children"]) == group["sessions_held"]


def test_period_without_data_says_so(demo_app, client_for):
    client = client_for("admin")
    cards = run_callback(
        client, demo_app, CARDS, [("overview-url", "search", "?from=2010-01-01&to=2010-12-31")]
    )
    assert cards["overview-value-sessions_held"]["children"] == "0"
    assert cards["overview-value-men_reached"]["children"] == "0"
    assert cards["overview-change-men_reached"]["children"] == "no data in the previous period"
    assert cards["overview-value-average_attendance"]["children"] == "—"
    assert cards["overview-change-average_attendance"]["children"] == "no data for these filters"
    trend = run_callback(
        client,
        demo_app,
        "overview-trend.figure",
        [("overview-url", "search", "?from=2010-01-01&to=2010-12-31")],
    )
    annotations = trend["overview-trend"]["figure"]["layout"]["annotations"]
    assert annotations[0]["text"] == "No sessions match these filters"


def test_small_group_is_suppressed_for_leadership_not_for_admin(demo_app, client_for, small_group):
    group, start, end, men = small_group
    search = f"?from={start}&to={end}&group={group}"
    leadership = run_callback(
        client_for("leadership"), demo_app, CARDS, [("overview-url", "search", search)]
    )
    admin = run_callback(client_for("admin"), demo_app, CARDS, [("overview-url", "search", search)])
    assert leadership["overview-value-men_reached"]["children"] == "<5"
    assert leadership["overview-value-average_attendance"]["children"] == "—"
    assert leadership["overview-change-men_reached"]["children"].startswith("hidden")
    assert admin["overview-value-men_reached"]["children"] == str(men)


def test_network_table_complementary_suppression(demo_app, client_for, uneven_networks):
    search, small, large, large_men = uneven_networks
    lead = run_callback(
        client_for("leadership"),
        demo_app,
        "overview-networks.children",
        [("overview-url", "search", search)],
    )
    columns, cells = networks_cells(lead)
    assert columns == ["Calgary", "Edmonton", "Combined"]
    men = dict(zip(columns, cells["Men reached"], strict=True))
    # The small network: "<5"; the large one hidden too, or Combined minus it gives the small
    # one away; the combined column (5 or more men) is shown.
    assert men[small] == ("<5", "hidden: fewer than 5 men")
    assert men[large] == ("—", "hidden: to protect a small figure beside it")
    combined = int(men["Combined"][0].replace(",", ""))
    assert combined >= large_men - 2 and large_men >= 5  # protected: within 2 of exact
    # What rests on the hidden counts is hidden with them; sessions are not about men.
    hours = dict(zip(columns, cells["Attendance-hours"], strict=True))
    assert hours[small][0] == hours[large][0] == "—"
    assert all(text != "—" for text, _ in cells["Sessions held"])
    # Exact figures for the admin: nothing hidden.
    admin = run_callback(
        client_for("admin"),
        demo_app,
        "overview-networks.children",
        [("overview-url", "search", search)],
    )
    _, exact = networks_cells(admin)
    exact_men = dict(zip(columns, exact["Men reached"], strict=True))
    assert int(exact_men[large][0]) == large_men and exact_men[small][1] is None
    # Leadership's combined count is the cell-key protected exact one: within 2 of it.
    assert abs(int(exact_men["Combined"][0].replace(",", "")) - combined) <= 2


def test_network_table_rows_are_catalogue_figures(demo_app, demo_settings, client_for):
    body = run_callback(
        client_for("admin"),
        demo_app,
        "overview-networks.children",
        [("overview-url", "search", FY)],
    )
    columns, cells = networks_cells(body)
    assert columns == ["Calgary", "Edmonton", "Combined"]
    from layouts.overview import CARDS

    assert list(cells) == [catalogue.label(key) for key in CARDS]
    # No "nan" for a figure without a value (e.g. retention when nobody was followed).
    assert not any("nan" in text for row in cells.values() for text, _ in row)


def test_cards_read_labels_and_definitions_from_the_catalogue(demo_app, demo_settings):
    from types import SimpleNamespace

    from layouts.overview import CARDS, card, layout

    settings = SimpleNamespace(active_window_weeks=6, completion_threshold=0.7)
    text = str(card("active_members", settings).to_plotly_json())
    assert catalogue.label("active_members") in text
    assert "in the 6 weeks up to the period's last day" in text
    assert "8 weeks" not in text
    with demo_app.server.app_context():
        page = str(layout(Scope(role="admin")).to_plotly_json())
    for key in CARDS:
        assert catalogue.label(key) in page
        assert catalogue.definition(key, demo_settings) in page


def test_cross_filter_click_narrows_network_and_period(demo_app, client_for):
    click = {"points": [{"x": "2025-06-01", "y": 700, "customdata": "Edmonton", "curveNumber": 1}]}
    response = run_callback(
        client_for("admin"),
        demo_app,
        "overview-url.search",
        [("overview-trend", "clickData", click)],
        [("overview-url", "search", FY)],
    )
    search = response["overview-url"]["search"]
    assert "network=Edmonton" in search
    assert "from=2025-06-01" in search and "to=2025-06-30" in search


def test_coordinator_cannot_see_other_network(demo_app, client_for):
    response = run_callback(
        client_for("coord-calgary"),
        demo_app,
        CARDS,
        [("overview-url", "search", FY + "&network=Edmonton")],
    )
    assert response["overview-value-sessions_held"]["children"] == "0"


@pytest.mark.parametrize(
    "start, end, data_end, expected",
    [
        # a finished period: the same length just before
        ("2025-04-01", "2026-03-31", "2026-11-30", ("2024-04-01", "2025-03-31")),
        # this fiscal year, data to 30 Nov: 1 Apr - 30 Nov against 1 Apr - 30 Nov last year
        ("2026-04-01", "2027-03-31", "2026-11-30", ("2025-04-01", "2025-11-30")),
        # no data yet
        ("2026-04-01", "2027-03-31", None, ("2025-04-01", "2026-03-31")),
    ],
)
def test_cards_compare_a_period_under_way_with_as_many_days(start, end, data_end, expected):
    from callbacks.overview import comparison_period

    f = Filters(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))
    day = dt.date.fromisoformat(data_end) if data_end else None
    prev, note = comparison_period(f, day)
    assert (prev.start.isoformat(), prev.end.isoformat()) == expected
    assert note.startswith(f"Compared with {prev.start:%d %b %Y}")


# --- Side by side: the networks, or a one-network user's groups (hand-made data) ----------


@pytest.fixture
def two_cities_app(engine, database_url):
    """Calgary: Bow circle (6 men, 3 sessions of 2 h), Elbow circle (3 men and one of Bow's,
    2 sessions of 1.5 h) and Nose Hill circle (no session in FY2025-26); Edmonton: River
    circle (4 men, 2 sessions). A Calgary coordinator, leadership and an admin."""
    from dashboard.app_factory import create_app
    from dashboard.db import session_scope
    from dashboard.settings import Settings
    from dashboard.users import create_user
    from tests.conftest import TEST_PASSWORD
    from tests.factories import Builder

    bow = [f"CGY-{i:06d}" for i in range(1, 7)]
    elbow = [f"CGY-{i:06d}" for i in range(7, 10)]
    river = [f"EDM-{i:06d}" for i in range(1, 5)]
    with session_scope(engine) as session:
        b = Builder(session)
        b.network("Calgary")
        b.network("Edmonton")
        b.group("Bow circle", "Calgary", minutes=120)
        b.group("Elbow circle", "Calgary", minutes=90)
        b.group("Nose Hill circle", "Calgary", end="2024-12-31")
        b.group("River circle", "Edmonton")
        for code in bow + elbow:
            b.member(code, "Calgary")
        for code in river:
            b.member(code, "Edmonton")
        b.member("CGY-000099", "Calgary")
        b.enroll("CGY-000099", "Nose Hill circle", "2024-01-01", "2024-12-31", "completed")
        b.session("Nose Hill circle", "2024-06-03", {"CGY-000099": "present"})
        for day in ("2025-05-05", "2025-05-12", "2025-05-19"):
            b.session("Bow circle", day, dict.fromkeys(bow, "present"))
        # CGY-000001 of Bow circle also comes to Elbow circle once.
        b.session("Elbow circle", "2025-05-06", dict.fromkeys([*elbow, bow[0]], "present"))
        b.session(
            "Elbow circle",
            "2025-05-13",
            {elbow[0]: "present", elbow[1]: "present", elbow[2]: "absent"},
        )
        for day in ("2025-05-07", "2025-05-14"):
            b.session("River circle", day, dict.fromkeys(river, "present"))
        b.done()
        for username, role, networks in (
            ("coord", "coordinator", ["Calgary"]),
            ("leadership", "leadership", []),
            ("admin", "admin", []),
        ):
            create_user(session, username, role, networks, TEST_PASSWORD)
    settings = Settings(database_url=database_url, secret_key="test-secret", demo_mode=False)
    return create_app(settings, prepare=False)


def side_by_side(app, username: str) -> tuple[str, list[str], dict]:
    """The table's title, its column names and {figure label: [cell text per column]}."""
    from tests.conftest import login

    client = app.server.test_client()
    assert login(client, username).status_code == 302
    body = run_callback(client, app, "overview-networks.children", [("overview-url", "search", FY)])
    content = body["overview-networks"]["children"]
    if content["type"] == "Div":  # groups: the table and a note under it
        content = content["props"]["children"][0]
    columns, cells = networks_cells({"overview-networks": {"children": content}})
    texts = {label: [text for text, _ in row] for label, row in cells.items()}
    return body["overview-networks-title"]["children"], columns, texts


def test_a_one_network_coordinator_sees_his_groups_side_by_side(two_cities_app):
    title, columns, cells = side_by_side(two_cities_app, "coord")
    assert title == "Groups of Calgary side by side"
    # Nose Hill circle held no session in the year: no column; Edmonton's group is not his.
    assert columns == ["Bow circle", "Elbow circle", "Calgary (all groups)"]
    assert cells["Sessions held"] == ["3", "2", "5"]
    # CGY-000001 counts in both groups and once in the total.
    assert cells["Men reached"] == ["6", "4", "9"]
    assert cells["New members"] == ["6", "4", "9"]
    # 18 attendances x 2 h; (4 + 2) x 1.5 h; together 45 h.
    assert cells["Attendance-hours"] == ["36", "9", "45"]
    # 18 / 3; 6 / 2; 24 / 5.
    assert cells["Average attendance"] == ["6.0", "3.0", "4.8"]


@pytest.mark.parametrize("username", ["leadership", "admin"])
def test_leadership_and_admin_keep_the_networks_side_by_side(two_cities_app, username):
    title, columns, cells = side_by_side(two_cities_app, username)
    assert title == "Calgary and Edmonton side by side"
    assert columns == ["Calgary", "Edmonton", "Combined"]
    assert cells["Sessions held"] == ["5", "2", "7"]  # sessions are not about men: never hidden
    if username == "admin":
        assert cells["Men reached"] == ["9", "4", "13"]
    else:
        # Edmonton's 4 men are below 5, Calgary is hidden with it so that Combined minus
        # Calgary can't give them away; Combined is the protected count of 13 men.
        assert cells["Men reached"][:2] == ["—", "<5"]
        assert abs(int(cells["Men reached"][2]) - 13) <= 2


@pytest.mark.parametrize(
    "filters",
    [
        {"networks": ("Calgary",)},
        {"networks": ("Edmonton",), "program_types": ("wellbeing-10", "peer-support")},
        {"networks": ("Calgary",), "age_bands": ("25-34", "35-44")},
    ],
)
def test_figures_by_group_are_the_headline_narrowed_to_each_group(demo_settings, filters):
    """One query per figure for every group gives what `headline` gives for each group alone
    (cell keys too, so a protected count is the same here as on the cards)."""
    from dataclasses import replace

    f = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), **filters)
    with get_engine(demo_settings.database_url).connect() as conn:
        frame = metrics.headline_by_group(conn, f)
        assert len(frame) >= 3
        for row in frame.to_dict("records"):
            alone = metrics.headline(conn, replace(f, groups=(row["group"],)))
            for column, value in row.items():
                if column == "group":
                    continue
                expected = alone[column]
                if expected is None:  # a figure with no value: NaN in the frame
                    assert value is None or value != value, (row["group"], column)
                else:
                    assert value == pytest.approx(expected), (row["group"], column)
