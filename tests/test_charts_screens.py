"""Charts on a projector and a phone (issue 12, items 5 and 6): the pure builders label every
bar, widen their margins to the labels, and keep words off each other. The browser test
(tests/test_browser_screens.py) looks at them drawn."""

from __future__ import annotations

import pandas as pd

from charts import impact, planning


def groups_frame(n: int) -> pd.DataFrame:
    """n groups over two networks, the most used first (as callbacks/planning.py sorts)."""
    return pd.DataFrame(
        {
            "group": [f"Group {i:02d} - Thursday" for i in range(n)],
            "network": ["Calgary" if i % 2 else "Edmonton" for i in range(n)],
            "capacity_use": [1.0 - i / 100 for i in range(n)],
            "average_attendance": [15 * (1.0 - i / 100) for i in range(n)],
            "capacity": [15] * n,
        }
    )


def test_capacity_labels_each_of_forty_bars_in_presentation_mode():
    frame = groups_frame(40)
    fig = planning.capacity(frame, presenting=True)
    groups = list(frame["group"])
    # Every bar its label (plotly drew every other one of 40 at 24 px a row)...
    assert list(fig.layout.yaxis.tickvals) == groups
    assert list(fig.layout.yaxis.ticktext) == groups
    assert fig.layout.yaxis.automargin is True
    # ...on a row at least 1.5 lines of the 20 px type tall: 130 px of margins + 40 × 32 px.
    assert fig.layout.font.size == 20
    assert fig.layout.height == 130 + 40 * 32
    # Few groups: the slide's height, which fits a 720 px screen with its heading.
    assert planning.capacity(groups_frame(3), presenting=True).layout.height == 540
    assert planning.capacity(groups_frame(3), presenting=False).layout.height == 380


def test_growth_says_each_change_on_the_empty_side_of_zero():
    shown = pd.DataFrame(
        {
            "group": ["Highlands", "Riverside", "Downtown"],
            "attendance": [150, 95, 0],
            "attendance_before": [100, 100, 480],
            "change": [50, -5, -480],
        }
    )
    fig = planning.growth(shown, presenting=True)
    bars, words = fig.data
    assert list(bars.x) == [50, -5, -480] and bars.textposition == "none"
    # "480 → 0" beside Downtown's long bar lay on the group names: now it starts at zero,
    # on the right, where Downtown has no bar.
    assert list(words.x) == [0, 0, 0]
    assert [t.strip("\u2002") for t in words.text] == [
        "100 → 150 (+50%)",
        "100 → 95 (-5%)",
        "480 → 0 (-100%)",
    ]
    assert list(words.textposition) == ["middle left", "middle right", "middle right"]
    assert list(fig.layout.xaxis.range) == [-480 * 1.1, 480 * 1.1]
    assert list(fig.layout.yaxis.tickvals) == ["Highlands", "Riverside", "Downtown"]
    assert fig.layout.yaxis.automargin is True


def target_row(network: str, reached, projected, actual) -> dict:
    return {
        "figure": "Men reached",
        "network": network,
        "period": "FY2025-26",
        "target": 200,
        "actual": actual,
        "reached": reached,
        "projected": projected,
        "status": "on track" if actual else "not started",
        "unit": "",
    }


def test_actual_chart_says_a_projected_rows_words_beside_its_diamond():
    rows = [
        target_row("Calgary", 60.0, 120.0, 120),
        target_row("Edmonton", None, None, None),
    ]
    fig = planning.actual_chart(rows, True, "hidden")
    bars, diamonds = fig.data
    assert list(bars.text) == ["120 of 200 (60%)", "not started"]
    # The projected row's words are not at its bar's end (under the diamond)...
    assert list(bars.texttemplate) == ["", "%{text}"]
    # ...but right of the diamond, which plotly sets off by the marker's size.
    assert list(diamonds.x) == [120.0] and list(diamonds.text) == ["120 of 200 (60%)"]
    assert diamonds.mode == "markers+text" and diamonds.textposition == "middle right"
    labels = ["Men reached · Calgary · FY2025-26", "Men reached · Edmonton · FY2025-26"]
    assert list(fig.layout.yaxis.tickvals) == labels and fig.layout.yaxis.automargin
    # The legend a line above the plot, where the "target" line's label is.
    plot_px = fig.layout.height - fig.layout.margin.t - 40
    assert fig.layout.legend.y == 1 + 30 / plot_px
    assert fig.layout.height == 300  # two rows: not a screen-high bar each


def summary_figures() -> dict:
    """Two instruments' figures as report.impact_figures gives them (gated), by hand."""
    columns = ["Calgary", "Edmonton", "Combined"]

    def part(section_id: str, title: str, direction: str, means: list) -> dict:
        current = {
            column: {
                "mean_change": mean,
                "ci_low": None if mean is None else mean - 1,
                "ci_high": None if mean is None else mean + 1,
                "share_improved": None if mean is None else 0.3,
                "share_unchanged": None if mean is None else 0.6,
                "share_worse": None if mean is None else 0.1,
            }
            for column, mean in zip(columns, means, strict=True)
        }
        notes = {"Calgary": {"mean_change": "fewer than 10 pairs"}} if None in means else {}
        return {
            "id": section_id,
            "instrument": True,
            "title": title,
            "direction": direction,
            "current": current,
            "notes": {"current": notes, "previous": {}},
        }

    return {
        "columns": columns,
        "threshold": 5,
        "change_digits": 1,
        "sections": [
            part("swemwbs", "Well-being (SWEMWBS)", "higher is better", [None, 1.5, 2.0]),
            part("ucla3", "Loneliness (UCLA-3)", "lower is better", [-0.5, 0.25, -0.1]),
        ],
    }


def test_change_chart_stacks_one_full_width_panel_per_instrument():
    fig = impact.change_chart(summary_figures())
    # Side by side, a phone's screen overlapped the panels' titles: stacked, each the width.
    assert list(fig.layout.xaxis.domain) == [0, 1] and list(fig.layout.xaxis2.domain) == [0, 1]
    top, bottom = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert bottom[1] < top[0]
    assert [a.text for a in fig.layout.annotations] == [
        "Well-being (SWEMWBS)<br><sup>higher is better</sup>",
        "Loneliness (UCLA-3)<br><sup>lower is better</sup>",
    ]
    assert fig.layout.yaxis.automargin is True and fig.layout.yaxis2.automargin is True
    assert fig.layout.xaxis2.title.text == "change in score"  # once, under the last panel
    # Panels of 40 + 34 px a column, 70 px apart, 80 px above and 50 below.
    assert fig.layout.height == 80 + 2 * (40 + 34 * 3) + 70 + 50
    loneliness = [t for t in fig.data if t.xaxis == "x2"]
    assert [(t.y[0], t.text[0]) for t in loneliness] == [
        ("Calgary", "-0.5"),
        ("Edmonton", "+0.2"),
        ("Combined", "-0.1"),
    ]


def test_shares_chart_labels_instrument_over_network():
    fig = impact.shares_chart(summary_figures())
    labels = list(fig.data[0].y)
    assert labels[0] == "Well-being (SWEMWBS) · Calgary"
    assert list(fig.layout.yaxis.tickvals) == labels
    assert list(fig.layout.yaxis.ticktext)[:3] == [
        "Well-being (SWEMWBS)<br>Calgary",
        "Well-being (SWEMWBS)<br>Edmonton",
        "Well-being (SWEMWBS)<br>Combined",
    ]
    assert fig.layout.yaxis.automargin is True
    assert fig.layout.height == 110 + 40 * 6
