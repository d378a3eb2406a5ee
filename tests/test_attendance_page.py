"""The Attendance page through the real callback endpoint, per role and filter class."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd
import pytest

from charts.style import NO_SESSIONS
from dashboard import cellkey, metrics, queries
from dashboard.db import get_engine
from dashboard.filters import Filters
from tests.dash_calls import callback_body, run_callback

FY = "?from=2025-04-01&to=2026-03-31"
FY_FILTERS = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
EMPTY = "?from=2010-01-01&to=2010-12-31"
MEMBER_CODE = re.compile(r"[A-Z]{3}-\d{6}")
FIGURES = [
    "attendance-trend.figure",
    "attendance-heatmap.figure",
    "attendance-rates.figure",
    "attendance-dosage.figure",
    "attendance-completion.figure",
]
TABLES = ["attendance-table.rowData", "attendance-atrisk-grid.rowData"]


def inputs_for(output: str, search: str, by: str = "network") -> list:
    inputs = [("attendance-url", "search", search)]
    if output.startswith("attendance-trend"):
        inputs.append(("attendance-by", "value", by))
    return inputs


def call(client, app, output: str, search: str, by: str = "network") -> dict:
    return run_callback(client, app, output, inputs_for(output, search, by))


def page(client, app, search: str, by: str = "network") -> dict:
    """Every data output of the page for one URL: {component id: {property: value}}."""
    result: dict = {}
    for output in FIGURES + TABLES:
        result.update(call(client, app, output, search, by))
    return result


def values(data) -> list:
    """A trace's x, y or z as a list: plotly 6 sends numpy arrays base64-encoded."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        if "shape" in data:
            array = array.reshape([int(n) for n in str(data["shape"]).split(",")])
        return (
            [None if isinstance(v, float) and math.isnan(v) else v for v in array.tolist()]
            if array.ndim == 1
            else [[None if math.isnan(v) else v for v in row] for row in array.tolist()]
        )
    if data is None:
        return []
    return [values(v) if isinstance(v, list) and v and isinstance(v[0], list) else v for v in data]


def figure(result: dict, name: str) -> dict:
    return result[name]["figure"]


def annotations(fig: dict) -> str:
    return " ".join(a.get("text", "") for a in fig["layout"].get("annotations", []))


def trace_names(fig: dict) -> set[str]:
    return {t["name"] for t in fig["data"] if t.get("name")}


def group_names(fig: dict) -> set[str]:
    """Groups on a chart's y axis (heatmap rows, bars)."""
    return {y for t in fig["data"] for y in values(t.get("y"))}


@pytest.fixture
def groups(demo_url) -> pd.DataFrame:
    """metrics.group_table for FY2025-26, computed directly on the database."""
    with get_engine(demo_url).connect() as conn:
        return metrics.group_table(conn, FY_FILTERS)


# --- (1) Filter classes ------------------------------------------------------------------


def test_all_networks(demo_app, client_for, groups):
    result = page(client_for("admin"), demo_app, FY)
    assert trace_names(figure(result, "attendance-trend")) == {"Calgary", "Edmonton"}
    rows = result["attendance-table"]["rowData"]
    assert {r["network"] for r in rows} == {"Calgary", "Edmonton"}
    assert len(rows) == len(groups)
    held = set(groups.loc[groups["sessions_held"] > 0, "group"])
    assert group_names(figure(result, "attendance-heatmap")) == held
    assert group_names(figure(result, "attendance-rates")) == held
    for name in FIGURES[:3]:
        assert not annotations(result[name.split(".")[0]]["figure"])


def test_one_network(demo_app, client_for, groups):
    result = page(client_for("admin"), demo_app, FY + "&network=Edmonton")
    assert trace_names(figure(result, "attendance-trend")) == {"Edmonton"}
    rows = result["attendance-table"]["rowData"]
    assert rows and {r["network"] for r in rows} == {"Edmonton"}
    edmonton = set(groups.loc[groups["network"] == "Edmonton", "group"])
    assert group_names(figure(result, "attendance-heatmap")) <= edmonton
    assert {r["network"] for r in result["attendance-atrisk-grid"]["rowData"]} <= {"Edmonton"}


def test_one_group(demo_app, client_for, groups):
    name = groups.sort_values("sessions_held").iloc[-1]["group"]
    search = FY + "&" + urlencode({"group": name})
    result = page(client_for("admin"), demo_app, search)
    assert [r["group"] for r in result["attendance-table"]["rowData"]] == [name]
    assert group_names(figure(result, "attendance-heatmap")) == {name}
    assert group_names(figure(result, "attendance-rates")) == {name}
    by_group = call(client_for("admin"), demo_app, "attendance-trend.figure", search, "group")
    assert trace_names(by_group["attendance-trend"]["figure"]) == {name}


def test_empty_period_shows_explicit_empty_states(demo_app, client_for):
    for role in ("admin", "leadership"):
        result = page(client_for(role), demo_app, EMPTY)
        for name in ("attendance-trend", "attendance-heatmap", "attendance-rates"):
            assert NO_SESSIONS in annotations(figure(result, name)), name
        assert "No sessions of a fixed-length program" in annotations(
            figure(result, "attendance-dosage")
        )
        assert "No fixed-length enrolment" in annotations(figure(result, "attendance-completion"))
        assert result["attendance-table"]["rowData"] == []
        assert result["attendance-table-note"]["children"] == NO_SESSIONS
        assert result["attendance-atrisk-grid"]["rowData"] == []


def test_program_without_fixed_length_says_so(demo_app, client_for):
    result = page(client_for("admin"), demo_app, FY + "&program=peer-support")
    for name in ("attendance-dosage", "attendance-completion"):
        assert "No fixed-length program" in annotations(figure(result, name))
    # The table names the program as users know it, not by its code.
    assert {r["program_type"] for r in result["attendance-table"]["rowData"]} == {
        "Peer support (open)"
    }


def test_group_toggle_limits_to_twelve_largest(demo_app, client_for, groups):
    result = call(client_for("admin"), demo_app, "attendance-trend.figure", FY, "group")
    names = trace_names(result["attendance-trend"]["figure"])
    assert len(names) == min(12, (groups["sessions_held"] > 0).sum())
    if (groups["sessions_held"] > 0).sum() > 12:
        assert "12 largest" in result["attendance-trend-note"]["children"]
        largest = groups.sort_values("attendance", ascending=False)["group"].head(12)
        assert names == set(largest)


def _small_group(demo_url) -> tuple[str, str, int]:
    """A (search, group, men reached) where one group reached 1-4 men in a month."""
    with get_engine(demo_url).connect() as conn:
        for month in pd.date_range("2025-04-01", "2026-03-01", freq="MS"):
            end = (month + pd.offsets.MonthEnd(0)).date()
            f = Filters(start=month.date(), end=end)
            table = metrics.group_table(conn, f)
            small = table[(table["men_reached"] > 0) & (table["men_reached"] < 5)]
            if not small.empty:
                row = small.iloc[0]
                return (f"?from={f.start}&to={f.end}", row["group"], int(row["men_reached"]))
    pytest.skip("the demo data has no group with 1-4 men in a month")


def test_small_group_suppressed_for_leadership_exact_for_admin(demo_app, client_for, demo_url):
    search, name, men = _small_group(demo_url)
    output = "attendance-table.rowData"
    lead = {
        r["group"]: r
        for r in call(client_for("leadership"), demo_app, output, search)["attendance-table"][
            "rowData"
        ]
    }
    admin = {
        r["group"]: r
        for r in call(client_for("admin"), demo_app, output, search)["attendance-table"]["rowData"]
    }
    assert admin[name]["men_reached"] == men
    assert lead[name]["men_reached"] == "<5"
    for hidden in (
        "attendance",
        "average_attendance",
        "attendance_rate",
        "excused",
        "excused_rate",
        "capacity_use",
    ):
        assert lead[name][hidden] is None, hidden
    assert lead[name]["sessions_held"] == admin[name]["sessions_held"]
    # Charts: the group's row is gone from the heatmap, its bar replaced by a note.
    lead_page = page(client_for("leadership"), demo_app, search)
    assert name not in group_names(figure(lead_page, "attendance-heatmap"))
    assert "fewer than 5 men" in lead_page["attendance-heatmap-note"]["children"]
    rates = figure(lead_page, "attendance-rates")
    bars = {
        y
        for t in rates["data"]
        if t["type"] == "bar"
        for y, x in zip(values(t["y"]), values(t["x"]), strict=True)
        if x is not None
    }
    assert name not in bars
    assert name in group_names(
        figure(page(client_for("admin"), demo_app, search), "attendance-heatmap")
    )


def test_leadership_heatmap_hides_small_weekly_counts(demo_app, client_for):
    result = call(client_for("leadership"), demo_app, "attendance-heatmap.figure", FY)
    present = values(result["attendance-heatmap"]["figure"]["data"][0]["z"])
    shown = [v for row in present for v in row if v is not None]
    assert shown and min(shown) >= 5


# --- (2) Figures agree with the metric engine ------------------------------------------------


def test_grid_and_charts_agree_with_metrics(demo_app, client_for, groups, demo_url):
    result = page(client_for("admin"), demo_app, FY)
    rows = {r["group"]: r for r in result["attendance-table"]["rowData"]}
    expected = groups.set_index("group")
    for name, row in rows.items():
        assert row["sessions_held"] == expected.loc[name, "sessions_held"]
        assert row["men_reached"] == expected.loc[name, "men_reached"]
        assert row["attendance"] == expected.loc[name, "attendance"]
    # Heatmap cells add up to the table's attendance.
    heat = figure(result, "attendance-heatmap")["data"][0]
    for name, cells in zip(values(heat["y"]), values(heat["z"]), strict=True):
        total = sum(v for v in cells if v is not None)
        assert total == expected.loc[name, "attendance"], name
    # Present shares are the table's attendance rate.
    present = next(
        t for t in figure(result, "attendance-rates")["data"] if t.get("name") == "Present"
    )
    for name, share in zip(values(present["y"]), values(present["x"]), strict=True):
        assert share == pytest.approx(expected.loc[name, "attendance_rate"])
    # The over-time lines add up to each network's attendance.
    for trace in figure(result, "attendance-trend")["data"]:
        network_total = expected[expected["network"] == trace["name"]]["attendance"].sum()
        assert sum(values(trace["y"])) == network_total
    # Dosage bars count every member of the fixed-length programs.
    with get_engine(demo_url).connect() as conn:
        dosage = metrics.member_dosage(conn, replace(FY_FILTERS, program_types=("wellbeing-10",)))
        completion = metrics.completion(conn, FY_FILTERS, 0.7)
    assert sum(values(figure(result, "attendance-dosage")["data"][0]["y"])) == len(dosage)
    overall = metrics.completion_figures(completion)
    assert (
        f"Overall: {overall['completion_rate']:.0%} of {overall['completion_enrolments']:,} "
        f"places ended ({overall['completion_base']:,} men) were completed."
    ) in result["attendance-completion-note"]["children"]
    # Per group: the same definition (rate over enrolments, base = their distinct men).
    bars = {}
    for trace in figure(result, "attendance-completion")["data"]:
        if trace["type"] == "bar":
            for group, rate, text, men in zip(
                values(trace["y"]),
                values(trace["x"]),
                trace["text"],
                trace["hovertext"],
                strict=True,
            ):
                bars[group] = (rate, text, men)
    per_group = {
        group: metrics.completion_figures(part) for group, part in completion.groupby("group")
    }
    assert set(bars) == set(per_group)
    for group, figures in per_group.items():
        rate, text, men = bars[group]
        assert rate == pytest.approx(figures["completion_rate"])
        assert text == f"{figures['completion_rate']:.0%} of {figures['completion_enrolments']}"
        assert men == f"{figures['completion_base']} men"


# --- (3) Members at risk -----------------------------------------------------------------------


def test_at_risk_for_calgary_coordinator_only_calgary(demo_app, client_for, demo_url):
    result = call(client_for("coord-calgary"), demo_app, "attendance-atrisk-grid.rowData", FY)
    rows = result["attendance-atrisk-grid"]["rowData"]
    assert rows, "the demo data should have members at risk on 2026-03-31"
    assert {r["network"] for r in rows} == {"Calgary"}
    assert all(MEMBER_CODE.fullmatch(r["member_code"]) for r in rows)
    with get_engine(demo_url).connect() as conn:
        on = min(FY_FILTERS.end, queries.data_end(conn))  # the data's end if earlier
        direct = metrics.at_risk_members(conn, replace(FY_FILTERS, networks=("Calgary",)), on, 8)
    assert sorted(r["member_code"] for r in rows) == sorted(direct["member_code"])


def test_leadership_never_receives_member_codes(demo_app, client_for, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("at_risk_members must not run for leadership")

    monkeypatch.setattr(metrics, "at_risk_members", refuse)
    client = client_for("leadership")
    for output in FIGURES + TABLES:
        response = client.post(
            "/_dash-update-component",
            json=callback_body(
                [tuple(p.rsplit(".", 1)) for p in _outputs(demo_app, output)],
                inputs_for(output, FY),
            ),
        )
        assert response.status_code == 200, output
        assert not MEMBER_CODE.search(response.get_data(as_text=True)), output
    body = call(client, demo_app, "attendance-atrisk-grid.rowData", FY)
    assert body["attendance-atrisk-grid"]["rowData"] == []
    assert "coordinators" in body["attendance-atrisk-note"]["children"]


def test_funder_cannot_call_attendance_callbacks(demo_app, client_for):
    response = client_for("funder").post(
        "/_dash-update-component",
        json=callback_body(
            [("attendance-table", "rowData"), ("attendance-table-note", "children")],
            [("attendance-url", "search", FY)],
        ),
    )
    assert response.status_code == 403


def _outputs(app, output: str) -> list[str]:
    from tests.dash_calls import callback_outputs

    return [f"{c}.{p}" for c, p in callback_outputs(app, output)]


# --- (4) Cross-filtering ---------------------------------------------------------------------


def _cross_filter_key(app) -> str:
    return next(
        key
        for key, spec in app.callback_map.items()
        if key.startswith("attendance-url.search@")
        and any(i["id"] == "attendance-rates" for i in spec["inputs"])
    )


def click_body(app, trigger: str, point: dict, search: str) -> dict:
    key = _cross_filter_key(app)
    sources = ["attendance-rates", "attendance-heatmap", "attendance-completion"]
    return {
        "output": key,
        "outputs": {"id": "attendance-url", "property": key.split(".", 1)[1]},
        "inputs": [
            {
                "id": s,
                "property": "clickData",
                "value": {"points": [point]} if s == trigger else None,
            }
            for s in sources
        ],
        "state": [{"id": "attendance-url", "property": "search", "value": search}],
        "changedPropIds": [f"{trigger}.clickData"],
    }


@pytest.mark.parametrize(
    "trigger", ["attendance-rates", "attendance-heatmap", "attendance-completion"]
)
def test_click_narrows_filters_to_the_group(demo_app, client_for, groups, trigger):
    name = groups.iloc[0]["group"]
    point = (
        {"y": name, "x": 0.5}
        if trigger == "attendance-heatmap"
        else {"y": name, "x": 0.5, "customdata": name}
    )
    response = client_for("admin").post(
        "/_dash-update-component",
        json=click_body(demo_app, trigger, point, FY + "&network=Calgary"),
    )
    assert response.status_code == 200, response.data[:300]
    search = json.loads(response.data)["response"]["attendance-url"]["search"]
    query = parse_qs(search.lstrip("?"))
    assert query["group"] == [name]
    assert query["from"] == ["2025-04-01"] and query["network"] == ["Calgary"]


def test_click_on_unknown_group_changes_nothing(demo_app, client_for):
    response = client_for("admin").post(
        "/_dash-update-component",
        json=click_body(demo_app, "attendance-rates", {"y": "No such group"}, FY),
    )
    # The only output is no_update: the response carries nothing, the URL stays as it is.
    assert response.status_code == 200
    assert json.loads(response.data)["response"] == {}


# --- CSV downloads -----------------------------------------------------------------------------


def test_csv_download_is_audited(demo_app, client_for, demo_url):
    from sqlalchemy import select

    from dashboard.models import AuditEvent

    result = run_callback(
        client_for("coord-calgary"),
        demo_app,
        "attendance-atrisk-grid.exportDataAsCsv",
        [("attendance-atrisk-csv", "n_clicks", 1)],
        [("attendance-url", "search", FY)],
    )
    assert result["attendance-atrisk-grid"]["exportDataAsCsv"] is True
    with get_engine(demo_url).connect() as conn:
        details = conn.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "export", AuditEvent.username == "coord-calgary"
            )
        ).all()
    assert any("members at risk" in d for d in details)


def test_leadership_layout_has_no_member_list(demo_app):
    from dashboard.access import Scope
    from layouts.attendance import layout

    def grid_wrapper(component):
        """The Div holding the at-risk grid (and its CSV button)."""
        children = getattr(component, "children", None)
        children = children if isinstance(children, list) else [children]
        if any(getattr(c, "id", None) == "attendance-atrisk-grid" for c in children):
            return component
        for child in children:
            if child is not None and not isinstance(child, str):
                found = grid_wrapper(child)
                if found is not None:
                    return found
        return None

    assert grid_wrapper(layout(Scope(role="leadership"))).style == {"display": "none"}
    assert grid_wrapper(layout(Scope(role="admin"))).style == {}
    assert grid_wrapper(layout(Scope(role="coordinator", networks=("Calgary",)))).style == {}


def test_heatmap_marks_cancelled_weeks_and_leaves_gaps_blank(demo_app, client_for, demo_url):
    result = call(client_for("admin"), demo_app, "attendance-heatmap.figure", FY)
    present, cancelled = result["attendance-heatmap"]["figure"]["data"][:2]
    with get_engine(demo_url).connect() as conn:
        weeks = metrics.weekly_heatmap(conn, FY_FILTERS)
    marks = [t for row in cancelled["text"] for t in row if t == "✕"]
    assert len(marks) == int(weeks["cancelled"].sum()) > 0
    cells = values(present["z"])
    no_count = sum(v is None for row in cells for v in row)
    # Without a count: the weeks with no session (blank) and the cancelled weeks (marked).
    assert no_count == len(cells) * len(cells[0]) - len(weeks) + len(marks)


# --- (5) Everything through the privacy gate --------------------------------------------------

GROUP_DERIVED = (
    "attendance",
    "average_attendance",
    "attendance_rate",
    "excused",
    "excused_rate",
    "capacity_use",
)


@pytest.mark.parametrize("role", ["admin", "coord-calgary", "leadership"])
def test_every_callback_goes_through_the_gate(demo_app, client_for, monkeypatch, role):
    from dashboard.gate import Gate

    calls: list[str] = []
    table, member_rows = Gate.table, Gate.member_rows

    def counted_table(self, *args, **kwargs):
        calls.append("table")
        return table(self, *args, **kwargs)

    def counted_member_rows(self, *args, **kwargs):
        calls.append("member_rows")
        return member_rows(self, *args, **kwargs)

    monkeypatch.setattr(Gate, "table", counted_table)
    monkeypatch.setattr(Gate, "member_rows", counted_member_rows)
    client = client_for(role)
    for output in FIGURES + ["attendance-table.rowData"]:
        calls.clear()
        call(client, demo_app, output, FY)
        assert "table" in calls, output
    calls.clear()
    at_risk = call(client, demo_app, "attendance-atrisk-grid.rowData", FY)
    if role == "leadership":
        # No member-level query at all, so nothing to gate.
        assert calls == [] and at_risk["attendance-atrisk-grid"]["rowData"] == []
    else:
        assert calls == ["member_rows"] and at_risk["attendance-atrisk-grid"]["rowData"]


# The largest cell-key adjustment of a protected count (dashboard/cellkey.py).
NOISE = max(abs(a) for a in cellkey.ADJUSTMENTS)


def rounded(value, digits: int):
    return None if value is None else round(value, digits)


def test_leadership_table_hides_what_rests_on_small_counts(demo_app, client_for, demo_url):
    """Each group's figures rest on its men reached (the excused count too): below k the count
    reads "<5" and everything resting on it is withheld; otherwise the protected count and the
    figures resting on it, rounded (SPEC §4)."""
    search, name, _ = _small_group(demo_url)
    output = "attendance-table.rowData"
    lead = call(client_for("leadership"), demo_app, output, search)
    admin = call(client_for("admin"), demo_app, output, search)
    admin_rows = {r["group"]: r for r in admin["attendance-table"]["rowData"]}
    lead_rows = {r["group"]: r for r in lead["attendance-table"]["rowData"]}
    assert set(lead_rows) == set(admin_rows) and name in lead_rows
    shown = 0
    for group, row in lead_rows.items():
        exact = admin_rows[group]
        for column in ("sessions_held", "cancelled", "capacity", "network", "program_type"):
            assert row[column] == exact[column], (group, column)
        if exact["men_reached"] < 5:
            assert row["men_reached"] == "<5", group
        if row["men_reached"] == "<5":
            assert all(row[c] is None for c in GROUP_DERIVED), group
            continue
        shown += 1
        assert row["men_reached"] >= 5, group
        assert abs(row["men_reached"] - exact["men_reached"]) <= NOISE, group
        assert row["attendance"] == exact["attendance"], group
        assert row["excused"] == exact["excused"], group
        assert row["average_attendance"] == rounded(exact["average_attendance"], 1), group
        for share in ("attendance_rate", "excused_rate", "capacity_use"):
            assert row[share] == rounded(exact[share], 2), (group, share)
    assert shown, "some group of the month should reach at least 5 men"
    assert "show as <5" in lead["attendance-table-note"]["children"]


def test_leadership_heatmap_cells_are_protected_or_grey(demo_app, client_for):
    lead = call(client_for("leadership"), demo_app, "attendance-heatmap.figure", FY)
    admin = call(client_for("admin"), demo_app, "attendance-heatmap.figure", FY)
    table = call(client_for("leadership"), demo_app, "attendance-table.rowData", FY)
    small = {r["group"] for r in table["attendance-table"]["rowData"] if r["men_reached"] == "<5"}

    def cells(trace) -> dict:
        return {
            (group, week): value
            for group, row in zip(values(trace["y"]), values(trace["z"]), strict=True)
            for week, value in zip(trace["x"], row, strict=True)
        }

    lead_data = lead["attendance-heatmap"]["figure"]["data"]
    exact = cells(admin["attendance-heatmap"]["figure"]["data"][0])
    shown = cells(lead_data[0])
    grey = {cell for cell, value in cells(lead_data[2]).items() if value is not None}
    assert {g for g, _ in shown} == {g for g, _ in exact} - small
    assert grey, "the demo data should have weeks of fewer than 5 present"
    for cell, value in shown.items():
        if exact[cell] is None:  # no session, or every session cancelled
            assert value is None and cell not in grey, cell
        elif cell in grey:
            assert value is None and exact[cell] < 5 + NOISE, cell
        else:
            assert value >= 5 and abs(value - exact[cell]) <= NOISE, cell
            assert exact[cell] >= 5, cell
    assert all(shown[cell] is None for cell in grey)
    assert {cell for cell, v in exact.items() if v is not None and v < 5 and cell[0] not in small}
    assert all(
        cell in grey
        for cell, v in exact.items()
        if v is not None and v < 5 and cell[0] not in small
    )


@pytest.mark.parametrize("extra, ages", [("", ()), ("&age=25-34", ("25-34",))])
def test_leadership_completion_per_group_rests_on_its_men(
    demo_app, client_for, demo_url, extra, ages
):
    lead = call(client_for("leadership"), demo_app, "attendance-completion.figure", FY + extra)
    admin = call(client_for("admin"), demo_app, "attendance-completion.figure", FY + extra)
    with get_engine(demo_url).connect() as conn:
        completion = metrics.completion(conn, replace(FY_FILTERS, age_bands=ages), 0.7)
    per_group = {
        group: metrics.completion_figures(part) for group, part in completion.groupby("group")
    }

    def bars(result) -> dict:
        return {
            group: (rate, text, men)
            for trace in result["attendance-completion"]["figure"]["data"]
            if trace["type"] == "bar"
            for group, rate, text, men in zip(
                values(trace["y"]),
                values(trace["x"]),
                trace["text"],
                trace["hovertext"],
                strict=True,
            )
        }

    def noted(result) -> dict:
        return {
            group: text
            for trace in result["attendance-completion"]["figure"]["data"]
            if trace["type"] == "scatter"
            for group, text in zip(values(trace["y"]), trace["text"], strict=True)
        }

    exact, shown, hidden = bars(admin), bars(lead), noted(lead)
    assert set(exact) == set(per_group) and not noted(admin)
    assert set(shown) | set(hidden) == set(per_group) and not set(shown) & set(hidden)
    for group, figures in per_group.items():
        base = figures["completion_base"]
        if base < 5:
            assert group in hidden, group
        if group in hidden:
            assert hidden[group] == "hidden: fewer than 5 men" and base < 5 + NOISE, group
            continue
        rate, text, men = shown[group]
        assert rate == round(figures["completion_rate"], 2), group
        assert text.endswith(f" of {figures['completion_enrolments']}"), group
        assert abs(int(men.removesuffix(" men")) - base) <= NOISE, group
    if ages:
        assert hidden, "one age band should leave a group with fewer than 5 men"
    # The overall figure: rate over the enrolments, base their (protected) distinct men.
    overall = metrics.completion_figures(completion)
    note = lead["attendance-completion-note"]["children"]
    found = re.search(r"Overall: (\d+)% of ([\d,]+) places ended \(([\d,]+) men\)", note)
    assert found, note
    assert int(found[1]) == round(100 * round(overall["completion_rate"], 2))
    assert int(found[2].replace(",", "")) == overall["completion_enrolments"]
    assert abs(int(found[3].replace(",", "")) - overall["completion_base"]) <= NOISE


@pytest.fixture
def one_session_app(engine, database_url):
    """One Calgary group with one session in the week of 2 June 2025: 7 men present, 1 excused,
    2 absent."""
    from dashboard.app_factory import create_app
    from dashboard.db import session_scope
    from dashboard.settings import Settings
    from dashboard.users import create_user
    from tests.conftest import TEST_PASSWORD
    from tests.factories import Builder

    with session_scope(engine) as session:
        world = Builder(session)
        world.network("Calgary")
        world.group("Weekly circle", "Calgary", capacity=12, start="2025-04-01")
        statuses = ["present"] * 7 + ["excused"] + ["absent"] * 2
        marks = {f"CGY-{i:06d}": status for i, status in enumerate(statuses, start=1)}
        for code in marks:
            world.member(code, "Calgary")
            world.enroll(code, "Weekly circle", "2025-04-01")
        world.session("Weekly circle", "2025-06-03", marks)
        world.done()
        for username in ("admin", "leadership"):
            create_user(session, username, username, [], TEST_PASSWORD)
    settings = Settings(database_url=database_url, secret_key="test-secret", demo_mode=False)
    return create_app(settings, prepare=False)


def test_one_session_counts_reach_leadership_as_counts_of_men(one_session_app):
    """Finding 5 (issue 11): in a week of one session, 'excused' is a count of men (1 here)
    and the attendance is the count of men present: leadership gets them protected like the
    heatmap's cells, and no rate or mean that would give the exact number back."""
    from tests.conftest import login

    week = "?from=2025-06-02&to=2025-06-08"
    rows = {}
    for role in ("admin", "leadership"):
        client = one_session_app.server.test_client()
        assert login(client, role).status_code == 302
        out = call(client, one_session_app, "attendance-table.rowData", week)
        (rows[role],) = [r for r in out["attendance-table"]["rowData"] if r["sessions_held"]]
    admin, lead = rows["admin"], rows["leadership"]
    assert (admin["sessions_held"], admin["men_reached"]) == (1, 7)
    assert (admin["attendance"], admin["excused"]) == (7, 1)
    assert admin["excused_rate"] == pytest.approx(0.1)
    assert lead["sessions_held"] == 1
    assert lead["excused"] is None  # 1 man: hidden, not "1"
    assert 5 <= lead["men_reached"] and abs(lead["men_reached"] - 7) <= NOISE
    # The men present are the men reached: the same protected number, not a second draw.
    assert lead["attendance"] == lead["men_reached"]
    for column in ("average_attendance", "attendance_rate", "excused_rate", "capacity_use"):
        assert lead[column] is None, column
