"""The surveys page: survey_change_by_group on hand-made data, and the page's callbacks
through the real endpoint, checked against the metric engine."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from callbacks import surveys as page
from charts import surveys as charts
from dashboard import metrics
from dashboard.catalogue import SURVEY_KEYS
from dashboard.db import get_engine
from dashboard.filters import Filters
from dashboard.models import AGE_BANDS
from tests.dash_calls import dash_call, run_callback
from tests.factories import Builder, d

FY = "?from=2025-04-01&to=2026-03-31"
FY_FILTERS = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
EMPTY = "?from=2010-01-01&to=2010-12-31"


# --- survey_change_by_group on a dataset worked out by hand -------------------------------


@pytest.fixture
def grouped(session):
    """UCLA-3 (summed, lower is better, alpha 0.72): four Calgary men in two groups.

    M1 and M2 in G1; M3 in G1 and G2 (counts in both); M4 in G1 only before his baseline and
    in G2 only after his later response, so in no group.
    """
    b = Builder(session)
    b.network("Calgary")
    b.group("G1", "Calgary", program="wellbeing-10")
    b.group("G2", "Calgary")
    for code in ("CGY-M01", "CGY-M02", "CGY-M03", "CGY-M04"):
        b.member(code, "Calgary")
    b.enroll("CGY-M01", "G1", "2025-01-01", "2025-03-01")
    b.enroll("CGY-M02", "G1", "2025-01-01", "2025-03-01")
    b.enroll("CGY-M03", "G1", "2025-01-01", "2025-03-01")
    b.enroll("CGY-M03", "G2", "2025-01-05")
    b.enroll("CGY-M04", "G1", "2024-09-01", "2024-12-01")
    b.enroll("CGY-M04", "G2", "2025-06-01")
    b.survey("CGY-M01", "ucla-3", "2025-01-10", "baseline", [3, 3, 3])  # 9
    b.survey("CGY-M01", "ucla-3", "2025-02-10", "exit", [2, 2, 1])  # 5: -4
    b.survey("CGY-M02", "ucla-3", "2025-01-10", "baseline", [2, 2, 2])  # 6
    b.survey("CGY-M02", "ucla-3", "2025-02-11", "exit", [2, 2, 1])  # 5: -1
    b.survey("CGY-M03", "ucla-3", "2025-01-10", "baseline", [1, 2, 1])  # 4
    b.survey("CGY-M03", "ucla-3", "2025-02-12", "exit", [2, 2, 2])  # 6: +2
    b.survey("CGY-M04", "ucla-3", "2025-01-10", "baseline", [3, 2, 3])  # 8
    b.survey("CGY-M04", "ucla-3", "2025-02-13", "exit", [2, 2, 2])  # 6: -2
    b.done()
    return b


def test_survey_change_by_group(engine, grouped):
    f = Filters(start=d("2025-01-01"), end=d("2025-06-30"))
    with engine.connect() as conn:
        frame = metrics.survey_change_by_group(conn, f, "ucla-3").set_index("group")
        total = metrics.survey_change(conn, f, "ucla-3")
    assert total["matched_pairs"] == 4
    assert frame.index.tolist() == ["G1", "G2"]  # M4 belongs to neither
    g1 = frame.loc["G1"]
    # Changes -4, -1, +2: mean -1, SD 3, t(0.975, 2) = 4.302653, so -1 +/- 4.302653 x 3/sqrt 3.
    assert g1["network"] == "Calgary"
    assert g1["matched_pairs"] == 3
    assert g1["mean_change"] == pytest.approx(-1.0)
    assert g1["ci_low"] == pytest.approx(-1 - 4.302653 * 3 / 3**0.5, abs=1e-4)
    assert g1["ci_high"] == pytest.approx(-1 + 4.302653 * 3 / 3**0.5, abs=1e-4)
    assert g1["d_z"] == pytest.approx(-1 / 3)
    # Baselines 9, 6, 4: SD 2.516611; SE_diff = 2.516611 x sqrt(2 x 0.28) = 1.883256.
    # RCI -2.12 (reliably better: lower loneliness), -0.53, +1.06.
    assert g1["share_improved"] == pytest.approx(1 / 3)
    assert g1["share_worse"] == pytest.approx(0.0)
    assert g1["share_unchanged"] == pytest.approx(2 / 3)
    g2 = frame.loc["G2"]
    assert g2["matched_pairs"] == 1
    assert g2["mean_change"] == pytest.approx(2.0)


def test_survey_change_by_group_follows_the_group_filter(engine, grouped):
    f = Filters(start=d("2025-01-01"), end=d("2025-06-30"), groups=("G2",))
    with engine.connect() as conn:
        frame = metrics.survey_change_by_group(conn, f, "ucla-3")
        empty = metrics.survey_change_by_group(
            conn, Filters(start=d("2024-01-01"), end=d("2024-12-31")), "ucla-3"
        )
    assert frame["group"].tolist() == ["G2"] and frame["matched_pairs"].tolist() == [1]
    assert empty.empty and "mean_change" in empty.columns


# --- The page on the demo data ------------------------------------------------------------


@pytest.fixture
def demo_engine(demo_settings):
    """The demo database, queried directly: what the page must agree with."""
    return get_engine(demo_settings.database_url)


def call(client, app, output, search, instrument="swemwbs"):
    return run_callback(
        client,
        app,
        output,
        [("surveys-url", "search", search), ("surveys-instrument", "value", instrument)],
    )


def badge(client, app, search, instrument="swemwbs") -> str:
    return call(client, app, "surveys-pairs.children", search, instrument)["surveys-pairs"][
        "children"
    ]


def figure(client, app, graph, search, instrument="swemwbs") -> dict:
    return call(client, app, f"surveys-{graph}.figure", search, instrument)[f"surveys-{graph}"][
        "figure"
    ]


def annotation(fig) -> str:
    return " ".join(a["text"] for a in fig["layout"].get("annotations", []))


def pairs_of(engine, f: Filters, instrument="swemwbs") -> int:
    with engine.connect() as conn:
        return metrics.survey_change(conn, f, instrument)["matched_pairs"]


def find(engine, test) -> Filters:
    """A selection of FY2025-26 for which test(conn, f) holds (the demo data vary by run)."""
    candidates = []
    for month in range(4, 16):
        year, number = 2025 + (month > 12), (month - 1) % 12 + 1
        start = dt.date(year, number, 1)
        end = dt.date(year + (number == 12), number % 12 + 1, 1) - dt.timedelta(days=1)
        candidates.append(Filters(start=start, end=end))
    candidates += [
        Filters(start=FY_FILTERS.start, end=FY_FILTERS.end, age_bands=(band,)) for band in AGE_BANDS
    ]
    # Two months at a time.
    candidates += [
        Filters(start=a.start, end=b.end)
        for a, b in zip(candidates[:11], candidates[1:12], strict=True)
    ]
    with engine.connect() as conn:
        for f in candidates:
            if test(conn, f):
                return f
    raise AssertionError("no selection of the demo data has the case")


def search_of(f: Filters) -> str:
    return "?" + f.to_query()


@pytest.mark.parametrize("extra", ["", "&network=Calgary", "&network=Edmonton"])
def test_badge_equals_metrics(demo_app, client_for, demo_engine, extra):
    f = Filters.from_query(FY + extra, dt.date(2026, 11, 21))
    n = pairs_of(demo_engine, f)
    assert n > 0
    assert badge(client_for("admin"), demo_app, FY + extra) == f"n = {n} matched pairs"


def test_badge_for_one_group_and_other_instruments(demo_app, client_for, demo_engine):
    with demo_engine.connect() as conn:
        groups = metrics.survey_change_by_group(conn, FY_FILTERS, "ucla-3")
    group = groups.sort_values("matched_pairs").iloc[-1]["group"]
    f = Filters(start=FY_FILTERS.start, end=FY_FILTERS.end, groups=(group,))
    n = pairs_of(demo_engine, f, "ucla-3")
    assert badge(client_for("admin"), demo_app, search_of(f), "ucla-3") == (
        f"n = {n} matched pair{'s' if n != 1 else ''}"
    )


def test_instrument_picker_lists_instruments_by_name(demo_app, client_for):
    out = run_callback(
        client_for("admin"),
        demo_app,
        "surveys-instrument.options",
        [("surveys-url", "search", FY)],
        [("surveys-instrument", "value", None)],
    )["surveys-instrument"]
    assert {o["value"] for o in out["options"]} == {"swemwbs", "ucla-3", "healthy-relationships"}
    assert any("SWEMWBS" in o["label"] for o in out["options"])
    assert out["value"] == "swemwbs"


def test_forest_plot_agrees_with_metrics(demo_app, client_for, demo_engine):
    fig = figure(client_for("admin"), demo_app, "forest", FY)
    with demo_engine.connect() as conn:
        networks = metrics.survey_change_by(conn, FY_FILTERS, "swemwbs").set_index("key")
        groups = metrics.survey_change_by_group(conn, FY_FILTERS, "swemwbs").set_index("group")
    points = {}
    for trace in fig["data"]:
        for x, y in zip(trace["x"], trace["y"], strict=True):
            if x is not None:
                points[y] = x
    for key in ("All", "Calgary", "Edmonton"):
        label = f"{key} · n={networks.loc[key, 'matched_pairs']}"
        assert points[label] == pytest.approx(networks.loc[key, "mean_change"])
    shown = groups[groups["matched_pairs"] >= charts.MIN_GROUP_PAIRS]
    for group, row in shown.iterrows():
        assert points[f"{group} · n={row['matched_pairs']}"] == pytest.approx(row["mean_change"])
    labels = fig["layout"]["yaxis"]["categoryarray"]
    assert labels[0].startswith("All · ") and labels[1].startswith("Calgary · ")
    assert any(s["type"] == "line" and s["x0"] == 0 for s in fig["layout"]["shapes"])
    # The CI is drawn as asymmetric error bars.
    first = fig["data"][0]
    assert first["error_x"]["array"][0] == pytest.approx(
        networks.loc["All", "ci_high"] - networks.loc["All", "mean_change"]
    )


def test_reliable_change_agrees_with_metrics(demo_app, client_for, demo_engine):
    fig = figure(client_for("admin"), demo_app, "reliable", FY)
    with demo_engine.connect() as conn:
        networks = metrics.survey_change_by(conn, FY_FILTERS, "swemwbs").set_index("key")
    improved = next(t for t in fig["data"] if t["name"] == "Reliably improved")
    bars = dict(zip(improved["y"], improved["x"], strict=True))
    for key in ("Calgary", "Edmonton", "All"):
        label = f"{key} · n={networks.loc[key, 'matched_pairs']}"
        assert bars[label] == pytest.approx(networks.loc[key, "share_improved"])
    assert list(bars)[-1].startswith("All")


def test_distributions_and_items(demo_app, client_for):
    client = client_for("admin")
    fig = figure(client, demo_app, "distribution", FY)
    sides = {t["name"]: t for t in fig["data"]}
    assert set(sides) == {"Baseline", "Later"}
    for trace in sides.values():
        assert sum(trace["y"]) == pytest.approx(1.0)
    items = figure(client, demo_app, "items", FY, "healthy-relationships")
    labels = items["data"][0]["y"]
    assert len(labels) == 6 and labels[0].startswith("1. I can talk")
    assert [("reverse-scored" in label) for label in labels] == [
        False,
        False,
        False,
        True,
        False,
        True,
    ]
    # Per item and side the three shares (the middle split in two halves) add up to 100%.
    baseline = [t for t in items["data"] if t["xaxis"] == "x"]
    totals = [sum(abs(t["x"][i] or 0) for t in baseline) for i in range(6)]
    assert totals == pytest.approx([1.0] * 6)


def test_empty_period(demo_app, client_for):
    client = client_for("admin")
    assert badge(client, demo_app, EMPTY) == page.NO_PAIRS
    for graph in ("forest", "reliable", "distribution", "items"):
        fig = figure(client, demo_app, graph, EMPTY)
        assert annotation(fig) == page.NO_PAIRS
        assert fig["data"] == []


def test_unknown_instrument(demo_app, client_for):
    assert badge(client_for("admin"), demo_app, FY, "no-such") == page.UNKNOWN
    fig = figure(client_for("admin"), demo_app, "forest", FY, "no-such")
    assert annotation(fig) == page.UNKNOWN


def few_pairs(conn, f) -> bool:
    return 0 < metrics.survey_change(conn, f, "swemwbs")["matched_pairs"] < 5


def test_leadership_small_selection_hidden(demo_app, client_for, demo_engine):
    f = find(demo_engine, few_pairs)
    client = client_for("leadership")
    assert badge(client, demo_app, search_of(f)) == "n = <5 matched pairs"
    for graph in ("forest", "reliable", "distribution", "items"):
        fig = figure(client, demo_app, graph, search_of(f))
        assert annotation(fig) == "Hidden: fewer than 5 matched pairs"
        assert fig["data"] == []
    # The admin sees the same selection.
    admin = client_for("admin")
    n = pairs_of(demo_engine, f)
    assert badge(admin, demo_app, search_of(f)) == f"n = {n} matched pair{'s' if n > 1 else ''}"
    sides = figure(admin, demo_app, "distribution", search_of(f))["data"]
    assert [t["name"] for t in sides] == ["Baseline", "Later"]
    assert [sum(t["y"]) for t in sides] == pytest.approx([1.0, 1.0])


MIN_PAIRS = 10  # SURVEY_MIN_PAIRS: the pairs a protected user needs to see a change


def protected_count(label: str, exact: int) -> int:
    """The n of a label such as 'All · n=23': the cell-key protected count, within 2 of the
    exact one (SPEC §4)."""
    n = int(label.rsplit("n=", 1)[1])
    assert abs(n - exact) <= 2
    return n


def one_small_network(conn, f) -> bool:
    frame = metrics.survey_change_by(conn, f, "swemwbs").set_index("key")
    parts = frame.drop(index="All")["matched_pairs"]
    enough = frame.loc["All", "matched_pairs"] >= MIN_PAIRS
    return len(parts) == 2 and (parts < 5).sum() == 1 and enough


def test_leadership_small_network_hidden_with_its_complement(demo_app, client_for, demo_engine):
    f = find(demo_engine, one_small_network)
    with demo_engine.connect() as conn:
        frame = metrics.survey_change_by(conn, f, "swemwbs").set_index("key")
    client = client_for("leadership")
    response = dash_call(
        client,
        [("surveys-forest", "figure"), ("surveys-forest-note", "children")],
        [("surveys-url", "search", search_of(f)), ("surveys-instrument", "value", "swemwbs")],
    )
    assert response.status_code == 200
    fig = response.get_json()["response"]["surveys-forest"]["figure"]
    labels = fig["layout"]["yaxis"]["categoryarray"]
    total = protected_count(labels[0], int(frame.loc["All", "matched_pairs"]))
    assert labels[0] == f"All · n={total}"
    # One network below 5 alone would be worked out from 'All': both networks are hidden.
    assert labels[1:3] == ["Calgary · n <5, hidden", "Edmonton · n <5, hidden"]
    plotted = [y for t in fig["data"] for x, y in zip(t["x"], t["y"], strict=True) if x is not None]
    assert plotted == [labels[0]]
    # No hidden figure leaves the server, not even in the hover text or customdata.
    reliable = call(client, demo_app, "surveys-reliable.figure", search_of(f))
    bodies = response.get_data(as_text=True) + json.dumps(reliable)
    hidden = [
        frame.loc[network, key]
        for network in ("Calgary", "Edmonton")
        for key in SURVEY_KEYS
        if key != "matched_pairs"
        and pd.notna(frame.loc[network, key])
        # (values such as 0.0 or 0.5 appear anywhere; an unrounded figure is unmistakable)
        and float(frame.loc[network, key]) != round(float(frame.loc[network, key]), 3)
    ]
    assert hidden
    for value in hidden:
        assert repr(float(value)) not in bodies
    labels = reliable["surveys-reliable"]["figure"]["data"][0]["y"]
    assert labels == [
        "Calgary · n <5, hidden (hidden)",
        "Edmonton · n <5, hidden (hidden)",
        f"All · n={total}",
    ]
    for trace in reliable["surveys-reliable"]["figure"]["data"]:
        assert trace["customdata"][:2] == ["—", "—"]
    assert badge(client, demo_app, search_of(f)) == f"n = {total} matched pairs"


def an_item_few_men_answered(conn, f) -> bool:
    """Enough pairs, but an item of healthy-relationships answered by too few men."""
    pairs = metrics.matched_pairs(conn, f, "healthy-relationships")
    spec = metrics.instrument(conn, "healthy-relationships")
    answers = metrics.item_shares(pairs, spec)["item_answers"]
    return len(pairs) >= MIN_PAIRS and bool(((answers > 0) & (answers < MIN_PAIRS)).any())


def test_leadership_item_answered_by_few_men_hidden(demo_app, client_for, demo_engine):
    f = find(demo_engine, an_item_few_men_answered)
    with demo_engine.connect() as conn:
        pairs = metrics.matched_pairs(conn, f, "healthy-relationships")
        spec = metrics.instrument(conn, "healthy-relationships")
    shares = metrics.item_shares(pairs, spec)
    few = shares[(shares["item_answers"] > 0) & (shares["item_answers"] < MIN_PAIRS)]
    assert not few.empty
    out = call(
        client_for("leadership"),
        demo_app,
        "surveys-items.figure",
        search_of(f),
        "healthy-relationships",
    )
    fig = out["surveys-items"]["figure"]
    for _, row in few.iterrows():
        axis = "x" if row["side"] == "baseline" else "x2"
        for trace in (t for t in fig["data"] if t["xaxis"] == axis):
            assert trace["x"][int(row["item"]) - 1] is None
            assert trace["customdata"][int(row["item"]) - 1] == "—"
    note = call(
        client_for("leadership"),
        demo_app,
        "surveys-items-note.children",
        search_of(f),
        "healthy-relationships",
    )["surveys-items-note"]["children"]
    assert note.endswith(f"Hidden: items answered by fewer than {MIN_PAIRS} of the matched men.")
    # The admin sees those shares.
    exact = figure(client_for("admin"), demo_app, "items", search_of(f), "healthy-relationships")
    row = few.iloc[0]
    axis = "x" if row["side"] == "baseline" else "x2"
    drawn = [t["x"][int(row["item"]) - 1] for t in exact["data"] if t["xaxis"] == axis]
    assert sum(abs(x or 0) for x in drawn) == pytest.approx(1.0)


def test_coordinator_sees_own_network(demo_app, client_for, demo_engine):
    # Asking for the other network gets nothing (the refusal is audited by the service).
    fig = figure(client_for("coord-calgary"), demo_app, "forest", FY + "&network=Edmonton")
    assert annotation(fig) == page.NO_PAIRS
    fig = figure(client_for("coord-calgary"), demo_app, "forest", FY)
    labels = fig["layout"]["yaxis"]["categoryarray"]
    assert labels[1].startswith("Calgary · ")
    assert not any(label.startswith("Edmonton") for label in labels)
    f = Filters(start=FY_FILTERS.start, end=FY_FILTERS.end, networks=("Calgary",))
    n = pairs_of(demo_engine, f)
    assert badge(client_for("coord-calgary"), demo_app, FY) == f"n = {n} matched pairs"


def test_funder_cannot_call_survey_callbacks(demo_app, client_for):
    response = dash_call(
        client_for("funder"),
        [
            ("surveys-pairs", "children"),
            ("surveys-pairs", "color"),
            ("surveys-instrument-info", "children"),
        ],
        [("surveys-url", "search", FY), ("surveys-instrument", "value", "swemwbs")],
    )
    assert response.status_code == 403


def test_layout_renders():
    from dashboard.access import Scope
    from layouts import surveys

    text = str(surveys.layout(Scope(role="leadership")))
    assert "surveys-pairs" in text and "surveys-url" in text


SURVEY_OUTPUTS = [
    [
        ("surveys-pairs", "children"),
        ("surveys-pairs", "color"),
        ("surveys-instrument-info", "children"),
    ],
    [("surveys-forest", "figure"), ("surveys-forest-note", "children")],
    [("surveys-reliable", "figure"), ("surveys-reliable-note", "children")],
    [("surveys-distribution", "figure"), ("surveys-distribution-note", "children")],
    [("surveys-items", "figure"), ("surveys-items-note", "children")],
]


@pytest.mark.parametrize("username", ["admin", "leadership", "coord-calgary"])
def test_every_survey_callback_gates_what_it_fetched(demo_app, client_for, username):
    import flask

    log = []

    @demo_app.server.after_request
    def remember(response):
        if flask.request.path.endswith("/_dash-update-component"):
            log.append((getattr(flask.g, "figures_fetched", 0), getattr(flask.g, "gated", 0)))
        return response

    client = client_for(username)
    for outputs in SURVEY_OUTPUTS:
        for search in (FY, EMPTY):
            log.clear()
            response = dash_call(
                client,
                outputs,
                [("surveys-url", "search", search), ("surveys-instrument", "value", "swemwbs")],
            )
            assert response.status_code == 200
            fetched, gated = log[-1]
            assert fetched > 0, outputs
            assert gated > 0, outputs
