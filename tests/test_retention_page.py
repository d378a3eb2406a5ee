"""The retention page's callbacks through the real endpoint, checked against the metric engine."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest

from callbacks import retention as page
from dashboard import metrics
from dashboard.db import get_engine
from dashboard.filters import Filters
from dashboard.models import AGE_BANDS
from dashboard.stats import logrank_in_words
from tests.dash_calls import dash_call, run_callback

FY = "?from=2025-04-01&to=2026-03-31"
FY_FILTERS = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
EMPTY = "?from=2010-01-01&to=2010-12-31"


@pytest.fixture
def engine(demo_settings):
    """The demo database, queried directly: what the page must agree with."""
    return get_engine(demo_settings.database_url)


def candidates():
    """Small selections of FY2025-26 to search for a case (the demo data vary by run)."""
    for month in range(4, 16):
        year, number = 2025 + (month > 12), (month - 1) % 12 + 1
        start = dt.date(year, number, 1)
        end = dt.date(year + (number == 12), number % 12 + 1, 1) - dt.timedelta(days=1)
        yield Filters(start=start, end=end)
    for band in AGE_BANDS:
        yield Filters(start=FY_FILTERS.start, end=FY_FILTERS.end, age_bands=(band,))


def find(engine, test) -> Filters:
    """The first candidate selection for which test(conn, f) holds."""
    with engine.connect() as conn:
        for f in candidates():
            if test(conn, f):
                return f
    raise AssertionError("no selection of the demo data has the case")


def search_of(f: Filters) -> str:
    return "?" + f.to_query()


def big_group(engine) -> str:
    with engine.connect() as conn:
        curves = metrics.retention(conn, FY_FILTERS, "group")["curves"]
    return max(curves, key=lambda c: c.n).label


def one_small_network(conn, f) -> bool:
    counts = sorted(c.n for c in metrics.retention(conn, f, "network")["curves"])
    return len(counts) == 2 and 0 < counts[0] < 5 <= counts[1]


def km(client, app, search, by="network"):
    out = run_callback(
        client,
        app,
        "retention-km.figure",
        [("retention-url", "search", search), ("retention-by", "value", by)],
    )
    return (
        out["retention-km"]["figure"],
        out["retention-at-risk"]["children"],
        out["retention-km-note"]["children"],
        out["retention-logrank"]["children"],
    )


def table(client, app, search, by="network"):
    out = run_callback(
        client,
        app,
        "retention-table.rowData",
        [("retention-url", "search", search), ("retention-by", "value", by)],
    )
    return {row["curve"]: row for row in out["retention-table"]["rowData"]}, out[
        "retention-table-note"
    ]["children"]


def curve_names(figure) -> list[str]:
    return [t["name"].split(" (n=")[0] for t in figure["data"] if t.get("name")]


def annotation(figure) -> str:
    return " ".join(a["text"] for a in figure["layout"].get("annotations", []))


def test_all_networks_curves_and_logrank_agree_with_metrics(demo_app, client_for, engine):
    figure, at_risk, _, words = km(client_for("admin"), demo_app, FY)
    with engine.connect() as conn:
        expected = metrics.retention(conn, FY_FILTERS, "network")
    assert curve_names(figure) == ["Calgary", "Edmonton"]
    assert words == logrank_in_words(expected["logrank"])
    # One band (upper, lower) and one line per curve; the line is the KM estimate.
    lines = [t for t in figure["data"] if t.get("name")]
    calgary = next(c for c in expected["curves"] if c.label == "Calgary")
    assert lines[0]["y"] == pytest.approx(calgary.survival)
    bands = [t for t in figure["data"] if t.get("fill") == "tonexty"]
    assert len(bands) == 2 and "rgba" in bands[0]["fillcolor"]
    assert f"n={calgary.n}" in lines[0]["name"]
    assert str(calgary.at_risk_at(12)) in str(at_risk)
    assert figure["layout"]["xaxis"]["title"]["text"].startswith("Weeks")


def test_retention_table_12_weeks_equals_metrics(demo_app, client_for, engine):
    rows, note = table(client_for("admin"), demo_app, FY)
    with engine.connect() as conn:
        expected = metrics.retention(conn, FY_FILTERS, "network")["at_weeks"]
    for network in ("Calgary", "Edmonton"):
        assert rows[network]["w12"] == f"{expected[network][12]:.0%}"
        # A 52-week estimate is impossible for one year's new members: said in words.
        assert expected[network][52] is None
        assert rows[network]["w52"] == page.NOT_FOLLOWED
    assert "nobody followed" in note.lower()


def test_one_network(demo_app, client_for):
    figure, _, _, words = km(client_for("admin"), demo_app, FY + "&network=Edmonton")
    assert curve_names(figure) == ["Edmonton"]
    assert "One curve" in words
    rows, _ = table(client_for("admin"), demo_app, FY + "&network=Edmonton")
    assert list(rows) == ["Edmonton"]


def test_one_group_by_group(demo_app, client_for, engine):
    group = big_group(engine)
    f = Filters(start=FY_FILTERS.start, end=FY_FILTERS.end, groups=(group,))
    figure, _, _, _ = km(client_for("admin"), demo_app, search_of(f), by="group")
    assert curve_names(figure) == [group]
    rows, _ = table(client_for("admin"), demo_app, search_of(f), by="group")
    with engine.connect() as conn:
        expected = metrics.retention(conn, f, "group")["at_weeks"][group][12]
    assert rows[group]["w12"] == f"{expected:.0%}"


def test_by_group_leaves_out_small_groups_and_says_so(demo_app, client_for, engine):
    figure, _, note, _ = km(client_for("admin"), demo_app, FY, by="group")
    with engine.connect() as conn:
        curves = metrics.retention(conn, FY_FILTERS, "group")["curves"]
    small = [c.label for c in curves if c.n < page.MIN_GROUP_MEMBERS]
    big = sorted((c for c in curves if c.n >= page.MIN_GROUP_MEMBERS), key=lambda c: -c.n)
    largest = sorted(c.label for c in big[: page.MAX_GROUP_CURVES])
    assert small and curve_names(figure) == largest
    assert all(name in note for name in small) or f"({len(small)} groups)" in note
    if len(big) > page.MAX_GROUP_CURVES:
        assert f"Only the {page.MAX_GROUP_CURVES} groups" in note
    rows, _ = table(client_for("admin"), demo_app, FY, by="group")
    assert set(rows) == {c.label for c in curves}  # the table keeps every group


def test_many_curves_compared_by_count(demo_app, client_for):
    _, _, _, words = km(client_for("admin"), demo_app, FY, by="group")
    assert "groups drawn" in words and "log-rank" in words


def test_empty_period_shows_empty_states(demo_app, client_for):
    client = client_for("admin")
    figure, _, _, _ = km(client, demo_app, EMPTY)
    assert page.NO_NEW_MEMBERS in annotation(figure)
    rows, _ = table(client, demo_app, EMPTY)
    assert rows == {}
    cohorts = run_callback(
        client, demo_app, "retention-cohorts.figure", [("retention-url", "search", EMPTY)]
    )["retention-cohorts"]["figure"]
    assert page.NO_NEW_MEMBERS in annotation(cohorts)
    completion = run_callback(
        client,
        demo_app,
        "retention-completion.figure",
        [("retention-url", "search", EMPTY), ("retention-by", "value", "network")],
    )
    assert "No fixed-length" in annotation(completion["retention-completion"]["figure"])


def test_leadership_small_curve_not_drawn_and_points_hidden(demo_app, client_for, engine):
    f = find(engine, one_small_network)
    with engine.connect() as conn:
        counts = {c.label: c.n for c in metrics.retention(conn, f, "network")["curves"]}
    small, big = sorted(counts, key=counts.get)
    figure, at_risk, note, _ = km(client_for("leadership"), demo_app, search_of(f))
    assert curve_names(figure) == [big]
    assert f"{small}: fewer than 5 new members" in note
    assert small not in str(figure["data"])  # not a single point of it leaves the server
    rows, note = table(client_for("leadership"), demo_app, search_of(f))
    assert rows[small]["n"] == "<5"
    assert all(rows[small][f"w{w}"].startswith("— hidden") for w in (4, 12, 26, 52))
    assert "Hidden" in note
    assert rows[big]["n"] == str(counts[big])
    # The admin sees the small curve.
    admin_figure, _, _, _ = km(client_for("admin"), demo_app, search_of(f))
    assert sorted(curve_names(admin_figure)) == sorted(counts)
    admin_rows, _ = table(client_for("admin"), demo_app, search_of(f))
    assert admin_rows[small]["n"] == str(counts[small])


def test_numbers_at_risk_below_k_shown_as_less_than(demo_app, client_for, engine):
    _, at_risk, _, _ = km(client_for("leadership"), demo_app, FY)
    _, admin_at_risk, _, _ = km(client_for("admin"), demo_app, FY)
    with engine.connect() as conn:
        curves = metrics.retention(conn, FY_FILTERS, "network")["curves"]
    at_52 = [c.at_risk_at(52) for c in curves]
    assert all(n < 5 for n in at_52)  # nobody of one year's new members is followed a year
    assert "<5" in str(at_risk) and "<5" not in str(admin_at_risk)


def test_coordinator_sees_own_network_only(demo_app, client_for):
    figure, _, _, _ = km(client_for("coord-calgary"), demo_app, FY)
    assert curve_names(figure) == ["Calgary"]
    figure, _, _, _ = km(client_for("coord-calgary"), demo_app, FY + "&network=Edmonton")
    assert "Edmonton" not in curve_names(figure)


def test_funder_cannot_call_retention_callbacks(demo_app, client_for):
    response = dash_call(
        client_for("funder"),
        [("retention-cohorts", "figure"), ("retention-cohorts-note", "children")],
        [("retention-url", "search", FY)],
    )
    assert response.status_code == 403


def cohorts(client, app, search):
    out = run_callback(
        client, app, "retention-cohorts.figure", [("retention-url", "search", search)]
    )
    return out["retention-cohorts"]["figure"]["data"][0]


def test_cohort_heatmap_agrees_with_metrics(demo_app, client_for, engine):
    trace = cohorts(client_for("admin"), demo_app, FY)
    with engine.connect() as conn:
        matrix = metrics.cohort_matrix(conn, FY_FILTERS)
    assert trace["y"][0] == f"{matrix.loc[0, 'cohort']} · {matrix.loc[0, 'size']} men"
    assert trace["z"][0][1] == pytest.approx(matrix.loc[0, 1])
    assert trace["text"][0][1] == f"{matrix.loc[0, 1]:.0%}"
    # The last cohort (March 2026) cannot be seen a month later: blank, not 0%.
    assert trace["z"][-1][1] is None and trace["text"][-1][1] == ""


def test_cohort_heatmap_suppressed_for_leadership(demo_app, client_for, engine):
    with engine.connect() as conn:
        matrix = metrics.cohort_matrix(conn, FY_FILTERS)
    small = matrix.index[matrix["size"] < 5].tolist()
    assert small
    trace = cohorts(client_for("leadership"), demo_app, FY)
    for i in small:
        assert trace["y"][i].endswith("<5 men")
        assert all(v is None for v in trace["z"][i])
    # A cell of a big cohort whose count of men is below 5 is hidden too.
    for i in matrix.index[matrix["size"] >= 5]:
        for k in [c for c in matrix.columns if isinstance(c, int)]:
            if matrix.loc[i, k] != matrix.loc[i, k]:  # NaN: after the data's end, blank
                assert trace["z"][i][k] is None
                continue
            count = round(matrix.loc[i, k] * matrix.loc[i, "size"])
            if count < 5:
                assert trace["z"][i][k] is None
            elif trace["text"][i][k]:
                assert trace["z"][i][k] == pytest.approx(matrix.loc[i, k])


def completion(client, app, search, by):
    out = run_callback(
        client,
        app,
        "retention-completion.figure",
        [("retention-url", "search", search), ("retention-by", "value", by)],
    )
    trace = out["retention-completion"]["figure"]["data"][0]
    return dict(zip(trace["y"], trace["text"], strict=True))


def test_completion_agrees_with_metrics(demo_app, client_for, engine):
    bars = completion(client_for("admin"), demo_app, FY, "network")
    with engine.connect() as conn:
        frame = metrics.completion(conn, FY_FILTERS, 0.7)
    for network, part in frame.groupby("network"):
        assert bars[f"{network} (n={len(part)})"] == f"{metrics.completion_rate(part):.0%}"
    assert bars[f"All (n={len(frame)})"] == f"{metrics.completion_rate(frame):.0%}"


def mixed_completion(conn, f) -> bool:
    sizes = metrics.completion(conn, f, 0.7).groupby("group").size()
    return bool((sizes < 5).any() and (sizes >= 5).any())


def test_completion_small_groups_hidden_for_leadership(demo_app, client_for, engine):
    f = find(engine, mixed_completion)
    with engine.connect() as conn:
        sizes = metrics.completion(conn, f, 0.7).groupby("group").size()
    bars = completion(client_for("leadership"), demo_app, search_of(f), "group")
    hidden = {
        label.rsplit(" (n=", 1)[0] for label, text in bars.items() if text.startswith("hidden")
    }
    small = set(sizes.index[sizes < 5])
    assert small <= hidden
    for group in small:
        assert f"{group} (n=<5)" in bars
    if len(small) == 1:  # one hidden beside a total: the next smallest is hidden too
        rest = sizes[sizes >= 5]
        assert hidden - small == {rest.idxmin()}
    admin = completion(client_for("admin"), demo_app, search_of(f), "group")
    assert not any(text.startswith("hidden") for text in admin.values())


def click_callback(app) -> str:
    """The registered key of the callback fed by a click on the survival chart."""
    for key, spec in app.callback_map.items():
        if any(i["id"] == "retention-km" and i["property"] == "clickData" for i in spec["inputs"]):
            return key
    raise KeyError("no click callback")


def click(client, app, point, search, by):
    output = click_callback(app)
    body = {
        "output": output,
        "outputs": {"id": "retention-url", "property": output.split(".", 1)[1]},
        "inputs": [{"id": "retention-km", "property": "clickData", "value": point}],
        "state": [
            {"id": "retention-url", "property": "search", "value": search},
            {"id": "retention-by", "property": "value", "value": by},
        ],
        "changedPropIds": ["retention-km.clickData"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["response"]["retention-url"]["search"]


def test_click_on_a_curve_narrows_the_filters(demo_app, client_for, engine):
    client = client_for("admin")
    point = {"points": [{"x": 4, "y": 0.8, "customdata": ["network", "Calgary", 0.7, 0.9]}]}
    args = parse_qs(click(client, demo_app, point, FY, "network").lstrip("?"))
    assert args["network"] == ["Calgary"] and args["from"] == ["2025-04-01"]
    group = big_group(engine)
    point = {"points": [{"x": 4, "y": 0.8, "customdata": ["group", group, 0.7, 0.9]}]}
    args = parse_qs(click(client, demo_app, point, FY, "group").lstrip("?"))
    assert args["group"] == [group]


def test_layout_renders_for_admin_and_leadership():
    from dashboard.access import Scope
    from layouts import retention

    for role in ("admin", "leadership"):
        text = str(retention.layout(Scope(role=role)))
        assert "retention-km" in text and "retention-by" in text
