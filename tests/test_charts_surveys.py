"""The surveys page's pure parts: its figures through the gate (no database, no app) and the
chart builders of charts/surveys.py. Nothing a protected user may not receive reaches a
figure, its hover text or its customdata."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from callbacks import surveys as page
from charts import surveys as charts
from dashboard import metrics
from dashboard.access import Scope
from dashboard.catalogue import SURVEY_KEYS
from dashboard.cellkey import key_column
from dashboard.gate import Gate
from dashboard.stats import paired_change

SPEC = {
    "id": "test-5",
    "name": "Test scale",
    "construct": "well-being",
    "items": ["One", "Two", "Three"],
    "min_answer": 1,
    "max_answer": 5,
    "reverse_items": [3],
    "scoring": "sum",
    "conversion": None,
    "higher_is_better": True,
    "alpha": 0.8,
}
K, MIN_PAIRS = 5, 10
LEADERSHIP = Gate(Scope(role="leadership"), K, MIN_PAIRS)
ADMIN = Gate(Scope(role="admin"), K, MIN_PAIRS)
PAIRS = key_column("matched_pairs")


def make_tables(men: list[tuple[str, str, list[int], list[int | None]]]) -> dict:
    """survey_tables' shape from (network, group, baseline answers, later answers) per man;
    the score is the sum of the answers given, the record keys made up."""
    pairs = pd.DataFrame(
        {
            "member_id": range(1, len(men) + 1),
            "network": [m[0] for m in men],
            "group": [m[1] for m in men],
            "baseline": [float(sum(a or 0 for a in m[2])) for m in men],
            "later": [float(sum(a or 0 for a in m[3])) for m in men],
            "baseline_answers": [m[2] for m in men],
            "later_answers": [m[3] for m in men],
            "record_key": [(7919 * i * i + 104729 * i) % 2**40 for i in range(1, len(men) + 1)],
        }
    )

    def change(part):
        figures = paired_change(part["baseline"], part["later"], SPEC["alpha"], True)
        return {**figures, PAIRS: int(part["record_key"].sum())}

    networks = [{"key": n, **change(p)} for n, p in pairs.groupby("network")]
    networks.append({"key": "All", **change(pairs)})
    groups = [
        {"network": n, "group": g, **change(p)} for (n, g), p in pairs.groupby(["network", "group"])
    ]
    return {
        "pairs": pairs,
        "overall": change(pairs),
        "by_network": pd.DataFrame(networks),
        "by_group": pd.DataFrame(groups),
    }


def man(network, group, baseline, later):
    return (network, group, [baseline, 3, 3], [later, 3, 3])


# Calgary: 31 men in G1 (12), G2 (12) and G4 (7); Edmonton: 3 men in G3.
TABLES = make_tables(
    [man("Calgary", "G1", 1 + i % 3, 3 + i % 3) for i in range(12)]
    + [man("Calgary", "G2", 2 + i % 2, 2 + i % 3) for i in range(12)]
    + [man("Calgary", "G4", 1 + i % 4, 2 + i % 4) for i in range(7)]
    + [man("Edmonton", "G3", 1 + i, 4 + i % 2) for i in range(3)]
)


def protected(text: str, exact: int) -> int:
    """A protected count shown as text: within 2 of the exact count (the cell-key table)."""
    n = int(text)
    assert abs(n - exact) <= 2
    return n


def exact_floats(tables: dict, keys=("mean_change", "ci_low", "ci_high", "d_z")) -> set[str]:
    """The figures of Edmonton and its group, as they would appear in a JSON response."""
    networks = tables["by_network"].set_index("key")
    groups = tables["by_group"].set_index("group")
    values = [networks.loc["Edmonton", k] for k in keys] + [groups.loc["G3", k] for k in keys]
    return {repr(float(v)) for v in values if v is not None and not pd.isna(v)}


def outcome_keys():
    return [k for k in SURVEY_KEYS if k != "matched_pairs"]


def test_rows_are_gated_with_their_complement():
    rows = {r["key"]: r for r in page.rows_by(LEADERSHIP, TABLES)}
    assert protected(rows["All"]["pairs"], 34) == rows["All"]["matched_pairs"]
    assert rows["All"]["hidden"] is False and rows["All"]["mean_change"] is not None
    # Edmonton (3) is below k; Calgary would give it away as All minus Calgary.
    for key in ("Edmonton", "Calgary"):
        assert rows[key]["hidden"] is True
        assert rows[key]["pairs"] == "<5"
        assert rows[key]["matched_pairs"] is None
        assert all(rows[key][k] is None for k in outcome_keys())
    assert rows["G3"]["hidden"] is True and rows["G3"]["mean_change"] is None
    # G1 and G2 (12 each) are shown; G4's 7 pairs are counted but too few for its change.
    for key in ("G1", "G2"):
        assert protected(rows[key]["pairs"], 12) == rows[key]["matched_pairs"]
        assert rows[key]["hidden"] is False and rows[key]["mean_change"] is not None
    assert protected(rows["G4"]["pairs"], 7) == rows["G4"]["matched_pairs"]
    assert rows["G4"]["hidden"] is True
    assert all(rows["G4"][k] is None for k in outcome_keys())
    assert charts.pairs_label(rows["G4"]) == f"n={rows['G4']['pairs']}, hidden"
    exact = {r["key"]: r for r in page.rows_by(ADMIN, TABLES)}
    assert exact["Edmonton"]["pairs"] == "3" and exact["Edmonton"]["hidden"] is False
    assert exact["G4"]["pairs"] == "7" and exact["G4"]["mean_change"] is not None


def test_the_badge_and_the_all_row_agree():
    rows = page.rows_by(LEADERSHIP, TABLES)
    assert page.pairs_text(LEADERSHIP, TABLES) == f"n = {rows[0]['pairs']} matched pairs"
    assert page.blocked(LEADERSHIP, TABLES) is None


def test_forest_figure_carries_no_hidden_value():
    view = charts.forest_rows(page.rows_by(LEADERSHIP, TABLES))
    fig = charts.forest_figure(view.rows, higher_is_better=True)
    labels = list(fig.layout.yaxis.categoryarray)
    rows = {r["key"]: r for r in view.rows}
    assert labels == [
        f"All · n={rows['All']['pairs']}",
        "Calgary · n <5, hidden",
        "Edmonton · n <5, hidden",
        f"G1 · n={rows['G1']['pairs']}",
        f"G2 · n={rows['G2']['pairs']}",
        f"G4 · n={rows['G4']['pairs']}, hidden",
    ]
    plotted = [y for t in fig.data for x, y in zip(t.x, t.y, strict=True) if x is not None]
    assert plotted == [labels[0], labels[3], labels[4]]
    text = json.dumps(fig.to_plotly_json(), default=str)
    hidden_values = exact_floats(TABLES)
    assert hidden_values and not [v for v in hidden_values if v in text]
    assert [a.text for a in fig.layout.annotations][1:3] == ["hidden", "hidden"]
    assert fig.layout.annotations[5].text == "hidden"
    assert view.hidden_groups == 1 and view.few == 0
    note = charts.forest_note(view, K, MIN_PAIRS)
    assert "1 group(s) are hidden: fewer than 10 matched pairs" in note
    assert "Hidden: rows resting on fewer than 10 matched pairs (a count below 5 shows" in note


def test_forest_figure_for_an_exact_user_shows_every_row():
    view = charts.forest_rows(page.rows_by(ADMIN, TABLES))
    fig = charts.forest_figure(view.rows, higher_is_better=True)
    labels = list(fig.layout.yaxis.categoryarray)
    # G3 (3 pairs) is left out for readability, not hidden.
    assert labels == [
        "All · n=34",
        "Calgary · n=31",
        "Edmonton · n=3",
        "G1 · n=12",
        "G2 · n=12",
        "G4 · n=7",
    ]
    assert view.few == 1 and view.hidden_groups == 0
    edmonton = TABLES["by_network"].set_index("key").loc["Edmonton"]
    points = {y: x for t in fig.data for x, y in zip(t.x, t.y, strict=True) if x is not None}
    assert points["Edmonton · n=3"] == pytest.approx(edmonton["mean_change"])
    hover = {
        y: c[0]
        for t in fig.data
        if t.customdata is not None
        for y, c in zip(t.y, t.customdata, strict=True)
    }
    low, high, d_z = edmonton["ci_low"], edmonton["ci_high"], edmonton["d_z"]
    assert hover["Edmonton · n=3"] == (
        f"95% CI {low:+.2f} to {high:+.2f}; effect size d<sub>z</sub> {d_z:+.2f}"
    )


def test_reliable_figure_hides_the_shares_of_hidden_rows():
    rows = charts.reliable_rows(page.rows_by(LEADERSHIP, TABLES))
    fig = charts.reliable_figure(rows)
    improved = next(t for t in fig.data if t.name == "Reliably improved")
    all_label = f"All · n={rows[-1]['pairs']}"
    assert list(improved.y) == [
        "Calgary · n <5, hidden (hidden)",
        "Edmonton · n <5, hidden (hidden)",
        all_label,
    ]
    for trace in fig.data:
        assert list(trace.x[:2]) == [0, 0]
        assert list(trace.customdata[:2]) == ["—", "—"]
        assert list(trace.text[:2]) == ["", ""]
    share = TABLES["by_network"].set_index("key").loc["All", "share_improved"]
    # A protected share is rounded to whole percent.
    assert improved.x[2] == round(share, 2)
    assert improved.customdata[2] == f"{round(share, 2):.0%}"
    assert charts.reliable_note(rows, 0.8, MIN_PAIRS).endswith(
        "Hidden: fewer than 10 matched pairs."
    )


def test_small_selections_are_blocked_for_protected_roles_only():
    small = make_tables([man("Calgary", "G1", 1 + i, 3) for i in range(3)])
    assert page.blocked(LEADERSHIP, small) == "Hidden: fewer than 5 matched pairs"
    assert page.blocked(ADMIN, small) is None
    assert page.pairs_text(LEADERSHIP, small) == "n = <5 matched pairs"
    assert page.pairs_text(ADMIN, small) == "n = 3 matched pairs"
    # Enough men to count, too few pairs for a change.
    seven = make_tables([man("Calgary", "G1", 1 + i % 5, 3) for i in range(7)])
    assert page.blocked(LEADERSHIP, seven) == "Hidden: fewer than 10 matched pairs"
    text = page.pairs_text(LEADERSHIP, seven)
    assert protected(text.split()[2], 7) and text.endswith(" matched pairs")
    one = make_tables([man("Calgary", "G1", 1, 3)])
    assert page.pairs_text(ADMIN, one) == "n = 1 matched pair"
    empty = make_tables([])
    assert page.blocked(ADMIN, empty) == page.blocked(LEADERSHIP, empty) == page.NO_PAIRS


def test_item_shares_of_items_few_men_answered_are_hidden():
    # 12 men; item 2 answered by 6 of them at baseline, by all later.
    tables = make_tables(
        [("Calgary", "G1", [1, 2 if i < 6 else None, 5], [4, 4, 1]) for i in range(12)]
    )
    shares = metrics.item_shares(tables["pairs"], SPEC)
    row = shares.set_index(["item", "side"]).loc[(2, "baseline")]
    assert row["item_answers"] == 6 and row["below"] == pytest.approx(1.0)
    assert row[key_column("item_answers")] == tables["pairs"]["record_key"][:6].sum()
    gated = LEADERSHIP.table(shares, columns=page.ITEM_COLUMNS)
    safe = gated.frame.set_index(["item", "side"])
    assert safe.loc[(2, "baseline"), ["below", "at", "above"]].tolist() == [None] * 3
    assert safe.loc[(2, "later"), "above"] == pytest.approx(1.0)
    assert key_column("item_answers") not in gated.frame.columns
    fig = charts.item_figure(gated.frame, SPEC)
    baseline = [t for t in fig.data if t.xaxis == "x"]
    for trace in baseline:
        assert trace.x[1] is None and trace.customdata[1] == "—"
    below = next(t for t in baseline if t.name.startswith("Below"))
    assert below.x[0] == pytest.approx(-1.0) and below.customdata[0] == "100%"
    assert charts.item_note(SPEC, True, MIN_PAIRS).endswith(
        "Hidden: items answered by fewer than 10 of the matched men."
    )
    exact = ADMIN.table(shares, columns=page.ITEM_COLUMNS).frame.set_index(["item", "side"])
    assert exact.loc[(2, "baseline"), "below"] == pytest.approx(1.0)


def test_distribution_shares_rest_on_the_matched_pairs():
    tables = make_tables([man("Calgary", "G1", 1 + i % 5, 5) for i in range(7)])
    scores = metrics.score_distribution(tables["pairs"], SPEC)
    assert scores["baseline"].sum() == pytest.approx(1.0)
    hidden = LEADERSHIP.table(scores, columns=page.SCORE_COLUMNS).frame
    assert hidden["baseline"].isna().all() and hidden["later"].isna().all()
    shown = ADMIN.table(scores, columns=page.SCORE_COLUMNS).frame
    fig = charts.distribution_figure(shown, {"mean_baseline": 9.5, "mean_later": 11.0}, SPEC)
    assert [t.name for t in fig.data] == ["Baseline", "Later"]
    assert sum(fig.data[0].y) == pytest.approx(1.0)
    assert [a.text for a in fig.layout.annotations] == ["Baseline mean 9.5", "Later mean 11.0"]
    low, high = metrics.score_range(SPEC)
    assert charts.distribution_note(low, high, True) == "Scores run from 3 to 15; higher is better."


def test_the_charts_written_as_dicts_pass_plotlys_checks():
    # The builders write their figures as plain dicts taken as they are (figure_of): here
    # plotly checks every property, so a misspelt one fails rather than being drawn as nothing.
    import plotly.graph_objects as go

    shares = metrics.item_shares(TABLES["pairs"], SPEC)
    scores = metrics.score_distribution(TABLES["pairs"], SPEC)
    means = {"mean_baseline": 7.5, "mean_later": 9.0}
    for gate in (LEADERSHIP, ADMIN):  # hidden rows and cells, then every figure exact
        rows = page.rows_by(gate, TABLES)
        figures = [
            charts.forest_figure(charts.forest_rows(rows, min_pairs=1).rows, True),
            charts.forest_figure(rows[:1], False),
            charts.reliable_figure(charts.reliable_rows(rows)),
            charts.distribution_figure(
                gate.table(scores, columns=page.SCORE_COLUMNS).frame, means, SPEC
            ),
            charts.item_figure(gate.table(shares, columns=page.ITEM_COLUMNS).frame, SPEC),
            charts.item_figure(shares, {**SPEC, "max_answer": 4}),  # no middle answer
        ]
        for fig in figures:
            checked = go.Figure(fig.to_plotly_json())  # raises ValueError on a bad property
            assert checked.to_plotly_json() == fig.to_plotly_json()
