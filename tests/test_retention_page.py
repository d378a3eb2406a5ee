"""The retention page's callbacks through the real endpoint, checked against the metric engine."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pandas as pd
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
    # The big one at least k + 2, so that no perturbation (at most -2) hides it.
    return len(counts) == 2 and 0 < counts[0] < 5 and counts[1] >= 7


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


def protected(shown: str, exact: int, k: int = 5) -> bool:
    """Whether `shown` is what leadership may read for a count of `exact` men (SPEC §4): `<k`
    below k, else the cell-key protected count (at most 2 from the exact one), itself `<k`
    when it falls below k."""
    if exact < k:
        return shown == f"<{k}"
    if shown == f"<{k}":
        return exact - 2 < k
    return int(shown.replace(",", "")) >= k and abs(int(shown.replace(",", "")) - exact) <= 2


def at_risk_cells(table) -> dict[str, list[str]]:
    """The numbers-at-risk table as sent: {curve: the text of its cells}."""

    def children(component):
        kids = component["props"].get("children")
        return kids if isinstance(kids, list) else [kids]

    _, body = children(table)
    cells = {}
    for row in children(body):
        head, *rest = children(row)
        cells[children(head)[-1]] = [children(cell)[0] for cell in rest]
    return cells


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
    cells = at_risk_cells(at_risk)
    assert cells["Calgary"] == [str(calgary.at_risk_at(w)) for w in page.AT_RISK_WEEKS]
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
    if len(small) <= 6:
        assert all(f"{c.label} ({c.n})" in note for c in curves if c.label in small)
    else:
        assert f"({len(small)} groups)" in note
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
    assert protected(rows[big]["n"], counts[big]) and rows[big]["n"] != "<5"
    assert f"{big} (n={rows[big]['n']})" in [t.get("name") for t in figure["data"]]
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
    cells, admin_cells = at_risk_cells(at_risk), at_risk_cells(admin_at_risk)
    for curve in curves:
        counts = [curve.at_risk_at(w) for w in page.AT_RISK_WEEKS]
        assert all(protected(c, n) for c, n in zip(cells[curve.label], counts, strict=True))
        assert admin_cells[curve.label] == [str(n) for n in counts]
    assert cells[curves[0].label][-1] == "<5"


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


def test_cohort_heatmap_marks_the_period_not_over_as_so_far(demo_app, client_for, engine):
    """The cell of each cohort holding the data's end (metrics' partial_offset) is drawn by
    the "so far" layer, not as a complete share; the caption says what it means."""
    out = run_callback(
        client_for("admin"),
        demo_app,
        "retention-cohorts.figure",
        [("retention-url", "search", FY)],
    )
    with engine.connect() as conn:
        matrix = metrics.cohort_matrix(conn, FY_FILTERS)
    partial = {(i, int(k)) for i, k in enumerate(matrix["partial_offset"]) if not pd.isna(k)}
    data = out["retention-cohorts"]["figure"]["data"]
    if not partial:
        assert len(data) == 1
        return
    main, so_far = data
    drawn = {
        (i, k)
        for i, row in enumerate(so_far["z"])
        for k, value in enumerate(row)
        if value is not None
    }
    assert drawn == partial
    for i, k in partial:
        assert main["z"][i][k] is None
        assert so_far["z"][i][k] == pytest.approx(matrix.loc[i, k])
        assert so_far["text"][i][k].endswith("so far")
    assert "'so far'" in out["retention-cohorts-note"]["children"]


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
            elif trace["text"][i][k] not in ("", "–"):  # shown, rounded to whole percent
                assert trace["z"][i][k] == pytest.approx(matrix.loc[i, k], abs=0.005)
                assert trace["z"][i][k] == round(trace["z"][i][k], 2)
        assert protected(trace["y"][i].split(" · ")[1].removesuffix(" men"), matrix.loc[i, "size"])


def completion(client, app, search, by, hover=False):
    out = run_callback(
        client,
        app,
        "retention-completion.figure",
        [("retention-url", "search", search), ("retention-by", "value", by)],
    )
    trace = out["retention-completion"]["figure"]["data"][0]
    return dict(zip(trace["y"], trace["customdata" if hover else "text"], strict=True))


def test_completion_agrees_with_metrics(demo_app, client_for, engine):
    """Completion as SPEC §3 defines it once: the rate over the enrollments, beside its base,
    the distinct men of those enrollments (the same figures as /attendance and /impact)."""
    bars = completion(client_for("admin"), demo_app, FY, "network")
    hovers = completion(client_for("admin"), demo_app, FY, "network", hover=True)
    with engine.connect() as conn:
        frame = metrics.completion(conn, FY_FILTERS, 0.7)
    expected = {key: metrics.completion_figures(part) for key, part in frame.groupby("network")}
    expected["All"] = metrics.completion_figures(frame)
    assert len(bars) == len(expected) == 3
    for key, figures in expected.items():
        label = f"{key} (n={figures['completion_base']})"
        rate = f"{figures['completion_rate']:.0%}"
        assert bars[label] == rate
        assert hovers[label] == f"{rate} of {figures['completion_enrolments']} places completed"
    # The base counts men, not places: on the demo data some man ended two places.
    assert expected["All"]["completion_base"] < expected["All"]["completion_enrolments"]


def mixed_completion(conn, f) -> bool:
    men = metrics.completion(conn, f, 0.7).groupby("group")["member_id"].nunique()
    return bool((men < 5).any() and (men >= 5).any())


def test_completion_small_groups_hidden_for_leadership(demo_app, client_for, engine):
    f = find(engine, mixed_completion)
    with engine.connect() as conn:
        frame = metrics.completion(conn, f, 0.7)
    men = frame.groupby("group")["member_id"].nunique()
    bars = completion(client_for("leadership"), demo_app, search_of(f), "group")
    labels = {label.rsplit(" (n=", 1)[0]: label for label in bars}
    assert set(labels) == {*men.index, "All"}
    hidden = {group for group, label in labels.items() if bars[label].startswith("hidden")}
    small = set(men.index[men < 5])
    assert small and small <= hidden
    # One hidden group beside the total could be worked out: a second one is hidden too.
    assert len(hidden - {"All"}) >= 2
    for group, label in labels.items():
        part = frame if group == "All" else frame[frame["group"] == group]
        figures = metrics.completion_figures(part)
        shown = label.rsplit(" (n=", 1)[1].removesuffix(")")
        if group in hidden:
            assert bars[label] == "hidden: fewer than 5 men"
        else:
            assert protected(shown, figures["completion_base"]) and shown != "<5"
            assert bars[label] == f"{round(figures['completion_rate'], 2):.0%}"
    for group in small:
        assert bars[f"{group} (n=<5)"] == "hidden: fewer than 5 men"
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


def lines_of(figure) -> dict[str, dict]:
    """The KM line of each curve, by curve name."""
    return {t["name"].split(" (n=")[0]: t for t in figure["data"] if t.get("name")}


def test_leadership_curves_stop_where_fewer_than_k_are_followed(demo_app, client_for, engine):
    figure, _, note, _ = km(client_for("leadership"), demo_app, FY)
    admin, _, admin_note, _ = km(client_for("admin"), demo_app, FY)
    with engine.connect() as conn:
        curves = {c.label: c for c in metrics.retention(conn, FY_FILTERS, "network")["curves"]}
    cut = False
    for name, line in lines_of(figure).items():
        curve = curves[name]
        kept = next((i for i, n in enumerate(curve.at_risk) if n < 5), len(curve.at_risk))
        # Protected: no unrounded float leaves the server (whole percent).
        assert line["x"] == pytest.approx(curve.times[:kept])
        assert line["y"] == [round(v, 2) for v in curve.survival[:kept]]
        assert [d[2] for d in line["customdata"]] == [round(v, 2) for v in curve.ci_low[:kept]]
        assert [d[3] for d in line["customdata"]] == [round(v, 2) for v in curve.ci_high[:kept]]
        band = [t for t in figure["data"] if t.get("legendgroup") == name and not t.get("name")]
        assert len(band) == 2 and all(len(t["x"]) == kept for t in band)
        assert band[0]["y"] == [round(v, 2) for v in curve.ci_high[:kept]]
        assert band[1]["y"] == [round(v, 2) for v in curve.ci_low[:kept]]
        assert protected(line["name"].split(" (n=")[1].removesuffix(")"), curve.n)
        cut |= kept < len(curve.times)
    assert cut and "A curve stops where fewer than 5 of its men are still followed." in note
    # Coordinators and admins see every point of every curve.
    for name, line in lines_of(admin).items():
        assert line["y"] == curves[name].survival
        assert line["name"] == f"{name} (n={curves[name].n})"
    assert "stops" not in admin_note


def test_leadership_retention_points_follow_the_gate(demo_app, client_for, engine):
    """A point is hidden with its curve's new members, and where fewer than k are still
    followed at that week (the curve stops there); else shown as for the admin."""
    rows, note = table(client_for("leadership"), demo_app, FY, by="group")
    admin_rows, _ = table(client_for("admin"), demo_app, FY, by="group")
    with engine.connect() as conn:
        result = metrics.retention(conn, FY_FILTERS, "group")
    stopped = 0
    for curve in result["curves"]:
        n = rows[curve.label]["n"]
        assert protected(n, curve.n)
        assert admin_rows[curve.label]["n"] == str(curve.n)
        for w in metrics.RETENTION_WEEKS:
            value = result["at_weeks"][curve.label][w]
            exact = page.NOT_FOLLOWED if value is None else f"{value:.0%}"
            assert admin_rows[curve.label][f"w{w}"] == exact
            followed = value is None or curve.at_risk_at(w) >= 5
            stopped += n != "<5" and not followed
            shown = n != "<5" and followed
            rounded = page.NOT_FOLLOWED if value is None else f"{round(value, 2):.0%}"
            expected = rounded if shown else "— hidden (fewer than 5 men)"
            assert rows[curve.label][f"w{w}"] == expected
    assert stopped  # the demo data have the case
    assert "Hidden: figures resting on fewer than 5 men." in note


def test_help_texts_read_the_settings():
    from types import SimpleNamespace

    from layouts import retention

    texts = retention.help_texts(SimpleNamespace(active_window_weeks=6, completion_threshold=0.8))
    assert "within 6 weeks" in texts["intro"]
    assert not any("8 weeks" in text for text in texts.values())
    assert "at least 80% of the program's sessions" in texts["completion"]


def test_layout_reads_the_apps_window(demo_settings):
    from dataclasses import replace

    from dashboard.access import Scope
    from dashboard.app_factory import create_app
    from layouts import retention

    app = create_app(replace(demo_settings, active_window_weeks=6), prepare=False)
    with app.server.app_context():
        text = str(retention.layout(Scope(role="leadership")))
    assert "within 6 weeks" in text and "within 8 weeks" not in text
