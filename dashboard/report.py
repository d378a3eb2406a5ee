"""The impact summary: SPEC §3 figures framed as a logic model (outputs, then outcomes).

`impact_figures` is the ONE function the page, the PDF, the CSV/XLSX downloads and
`python -m dashboard report impact` read, so every view of the summary is suppressed (SPEC §4)
exactly alike. Its result is plain data; the writers below only format it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from dataclasses import replace
from xml.sax.saxutils import escape

import pandas as pd
from sqlalchemy import Connection

from dashboard import metrics, queries
from dashboard.access import Scope
from dashboard.filters import Filters
from dashboard.privacy import hidden_reason, suppress
from dashboard.stats import paired_change
from dashboard.targets import period_label, previous_period

COMBINED = "Combined"
TITLE = "Impact summary"
# Short names for headings and chart labels; the instrument's full name is in its table.
SHORT_NAMES = {
    "swemwbs": "Well-being (SWEMWBS)",
    "ucla-3": "Loneliness (UCLA-3)",
    "healthy-relationships": "Healthy relationships",
}
INSTRUMENT_ORDER = ["swemwbs", "ucla-3", "healthy-relationships"]


def _figure(key: str, label: str, kind: str, definition: str, show: bool = True) -> dict:
    return {"key": key, "label": label, "kind": kind, "definition": definition, "show": show}


def output_figures(completion_threshold: float = 0.7) -> list[dict]:
    """The outputs, each with one plain sentence saying what it counts (SPEC §3)."""
    share = f"{completion_threshold:.0%}"
    return [
        _figure(
            "sessions_held",
            "Sessions held",
            "number",
            "Group sessions that took place in the period; cancelled ones are not counted.",
        ),
        _figure(
            "men_reached",
            "Men reached",
            "count",
            "Different men who attended at least one session in the period.",
        ),
        _figure(
            "new_members",
            "New members",
            "count",
            "Men reached whose first session ever was in the period.",
        ),
        _figure(
            "attendance_hours",
            "Attendance-hours",
            "hours",
            "Hours men spent in sessions: every attendance counts the session's length.",
        ),
        _figure(
            "completion_base",
            "Men ending a 10-session group",
            "count",
            "Men whose place in a 10-session Men's Well-Being Group ended in the period.",
        ),
        _figure(
            "completion_rate",
            "Completion rate",
            "share",
            f"Share of those places where the man attended at least {share} of the sessions.",
        ),
    ]


OUTCOME_FIGURES = [
    _figure(
        "matched_pairs",
        "Matched pairs",
        "count",
        "Men with a baseline survey and a later one on this scale, the later one in the "
        "period; each counts in his home network.",
    ),
    _figure(
        "mean_change",
        "Mean change (95% CI)",
        "change",
        "Average of later score minus baseline score, with its 95% confidence interval.",
    ),
    _figure(
        "ci_low",
        "95% CI, low end",
        "change",
        "Low end of the mean change's 95% confidence interval (paired t).",
        show=False,
    ),
    _figure(
        "ci_high",
        "95% CI, high end",
        "change",
        "High end of the mean change's 95% confidence interval (paired t).",
        show=False,
    ),
    _figure(
        "share_improved",
        "Reliably improved",
        "share",
        "Share of pairs whose score moved the better way by more than measurement error "
        "(Jacobson-Truax reliable change).",
    ),
    _figure(
        "share_unchanged",
        "No reliable change",
        "share",
        "Share of pairs whose change is within measurement error.",
    ),
    _figure(
        "share_worse",
        "Reliably worse",
        "share",
        "Share of pairs whose score moved the worse way by more than measurement error.",
    ),
]

# SPEC §4: which figures count distinct men, and which rest on such a count.
OUTPUT_COUNTS = ["men_reached", "new_members", "completion_base"]
OUTPUT_DERIVED = {
    "attendance_hours": "men_reached",
    "attendance": "men_reached",
    "completion_rate": "completion_base",
}
OUTCOME_COUNTS = ["matched_pairs"]
OUTCOME_DERIVED = {
    key: "matched_pairs"
    for key in (
        "mean_change",
        "ci_low",
        "ci_high",
        "d_z",
        "share_improved",
        "share_unchanged",
        "share_worse",
        "mean_baseline",
        "mean_later",
    )
}


# --- Computing: figures per network and combined ---


def column_names(conn: Connection, f: Filters) -> list[str]:
    """The networks of a selection, in name order (all known ones when none is chosen)."""
    known = queries.network_names(conn)
    return [name for name in known if not f.networks or name in f.networks]


def columns_of(names: list[str]) -> list[str]:
    """Networks side by side, and their combined column when there are two or more."""
    return [*names, COMBINED] if len(names) > 1 else (names or [COMBINED])


def narrowed(f: Filters, column: str) -> Filters:
    return f if column == COMBINED else replace(f, networks=(column,), preset=None)


def by_network(conn: Connection, f: Filters, fn, *args) -> dict[str, dict]:
    """fn(conn, filters, *args) for each network column and the combined one."""
    return {
        column: fn(conn, narrowed(f, column), *args) for column in columns_of(column_names(conn, f))
    }


def output_record(
    conn: Connection, f: Filters, completion_threshold: float = 0.7, window_weeks: int | None = None
) -> dict:
    """One column's outputs; with `window_weeks`, 12-week retention too (for targets)."""
    figures = metrics.outputs(conn, f)
    ended = metrics.completion(conn, f, completion_threshold)
    record = {
        key: figures[key]
        for key in ("sessions_held", "men_reached", "new_members", "attendance", "attendance_hours")
    }
    record["completion_base"] = int(ended["member_id"].nunique()) if len(ended) else 0
    record["completion_rate"] = metrics.completion_rate(ended)
    if window_weeks is not None:
        record["retention_12w"], record["retention_base"] = metrics.retention_at(
            conn, f, 12, window_weeks
        )
    return record


def network_outputs(
    conn: Connection, f: Filters, completion_threshold: float = 0.7, window_weeks: int | None = None
) -> dict[str, dict]:
    """output_record per network column and combined (planning's actuals)."""
    return by_network(conn, f, output_record, completion_threshold, window_weeks)


def fiscal_year_outputs(
    conn: Connection,
    f: Filters,
    labels: tuple[str, ...],
    completion_threshold: float = 0.7,
    window_weeks: int | None = None,
) -> dict[str, dict[str, dict]]:
    """network_outputs for each fiscal year (or quarter) label: year-on-year trends."""
    from dashboard.targets import parse_period

    result = {}
    for label in labels:
        start, end = parse_period(label)
        result[label] = network_outputs(
            conn, replace(f, start=start, end=end, preset=None), completion_threshold, window_weeks
        )
    return result


# SPEC §4 for planning's actuals (outputs with 12-week retention).
PLANNING_COUNTS = [*OUTPUT_COUNTS, "retention_base"]
PLANNING_DERIVED = {**OUTPUT_DERIVED, "retention_12w": "retention_base"}


def instruments(conn: Connection) -> list[dict]:
    """The instruments with an outcome section, in a fixed order, then any others."""
    ids = metrics.instrument_ids(conn)
    ordered = [i for i in INSTRUMENT_ORDER if i in ids] + [
        i for i in ids if i not in INSTRUMENT_ORDER
    ]
    found = []
    for instrument_id in ordered:
        spec = metrics.instrument(conn, instrument_id)
        found.append(
            {
                "id": instrument_id,
                "name": spec["name"],
                "short": SHORT_NAMES.get(instrument_id, spec["construct"].capitalize()),
                "higher_is_better": bool(spec["higher_is_better"]),
                "alpha": float(spec["alpha"]),
            }
        )
    return found


def impact_raw(conn: Connection, f: Filters, completion_threshold: float = 0.7) -> dict:
    """Exact figures per network and combined (nothing suppressed: never send as is)."""
    columns = columns_of(column_names(conn, f))
    outputs = {c: output_record(conn, narrowed(f, c), completion_threshold) for c in columns}
    outcomes = {}
    specs = instruments(conn)
    for spec in specs:
        pairs = metrics.matched_pairs(conn, f, spec["id"])
        # One reference SD per instrument for every column (SPEC §3).
        sd_ref = metrics.reference_sd(conn, spec["id"])
        outcomes[spec["id"]] = {}
        for column in columns:
            part = pairs if column == COMBINED else pairs[pairs["network"] == column]
            outcomes[spec["id"]][column] = paired_change(
                part["baseline"].tolist(),
                part["later"].tolist(),
                spec["alpha"],
                spec["higher_is_better"],
                reference_sd=float("nan") if sd_ref is None else sd_ref,
            )
    return {"columns": columns, "outputs": outputs, "outcomes": outcomes, "instruments": specs}


# --- Suppression: networks side by side with their total ---


def suppress_columns(
    values: dict[str, dict], threshold: int, counts: list[str], derived: dict[str, str]
) -> tuple[dict, dict]:
    """SPEC §4 for networks shown beside their combined total.

    Counts below `threshold` are hidden, and what rests on them; with two or more networks
    the combined column is their total, so wherever exactly one network's count is hidden
    the next smallest network is hidden too. Returns the safe values and, per hidden cell,
    why it is hidden.
    """
    networks = [c for c in values if c != COMBINED]
    safe: dict[str, dict] = {}
    notes: dict[str, dict] = {}

    def apply(names: list[str], totals: tuple[str, ...]) -> None:
        frame = pd.DataFrame([values[n] for n in names])
        for column in [*counts, *derived.values()]:
            if column not in frame:
                frame[column] = None
        result = suppress(frame, threshold, counts, derived, totals)
        for i, name in enumerate(names):
            safe[name] = {
                key: (None if result.hidden.iloc[i][key] else values[name][key])
                for key in values[name]
            }
            notes[name] = {
                key: _reason(values[name], key, counts, derived, threshold)
                for key in values[name]
                if result.hidden.iloc[i][key]
            }

    if networks:
        apply(networks, ("column",) if COMBINED in values and len(networks) > 1 else ())
    if COMBINED in values:
        apply([COMBINED], ())
    return {c: safe[c] for c in values}, {c: notes[c] for c in values}


def _reason(
    record: dict, key: str, counts: list[str], derived: dict[str, str], threshold: int
) -> str:
    return hidden_reason(record, key, counts, derived, threshold)


# --- The one function every view reads ---


def describe_period(start: dt.date, end: dt.date) -> dict:
    label = period_label(start, end)
    dates = f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    return {"start": start, "end": end, "label": label or dates, "fiscal": label, "dates": dates}


def describe_selection(f: Filters, columns: list[str]) -> str:
    names = [c for c in columns if c != COMBINED]
    text = " and ".join(names) if names else "No network"
    extra = [
        (label, values)
        for label, values in (
            ("groups", f.groups),
            ("program types", f.program_types),
            ("age bands", f.age_bands),
            ("communities", f.communities),
        )
        if values
    ]
    for label, values in extra:
        text += f"; {label}: {', '.join(values)}"
    return text


def impact_figures(source, scope: Scope, f: Filters, settings=None) -> dict:
    """The impact summary as `scope` may see it, for the period of `f` and the one before.

    source: the app's DataService (scoped, cached, audited) or an Engine (the command line,
    then give `settings`). The result is plain data: `sections` (outputs, then one per
    instrument), each with its figures' definitions and, per period ("current",
    "previous"), values and notes per column (networks, then "Combined"). Treat it as
    read-only: the service caches it.
    """
    settings = settings or source.settings
    args = (settings.completion_threshold, settings.suppression_threshold, scope.suppressed)
    if hasattr(source, "run"):
        figures = source.run(scope, f, summary_figures, *args)
    else:
        narrowed_filters, _ = scope.restrict(f)
        with source.connect() as conn:
            figures = summary_figures(conn, narrowed_filters, *args)
    return {**figures, "generated": dt.datetime.now().replace(microsecond=0)}


def summary_figures(
    conn: Connection,
    f: Filters,
    completion_threshold: float = 0.7,
    threshold: int = 5,
    suppressed: bool = True,
) -> dict:
    """impact_figures for filters already limited to the user's scope (cacheable)."""
    start, end = previous_period(f.start, f.end)
    before = replace(f, start=start, end=end, preset=None)
    raw = {
        "current": impact_raw(conn, f, completion_threshold),
        "previous": impact_raw(conn, before, completion_threshold),
    }
    columns = raw["current"]["columns"]
    sections = [
        {
            "id": "outputs",
            "title": "Outputs: what the programs did",
            "instrument": None,
            "figures": output_figures(completion_threshold),
        }
    ]
    for spec in raw["current"]["instruments"]:
        direction = "higher is better" if spec["higher_is_better"] else "lower is better"
        sections.append(
            {
                "id": spec["id"],
                "title": spec["short"],
                "instrument": spec["id"],
                "name": spec["name"],
                "higher_is_better": spec["higher_is_better"],
                "direction": direction,
                "figures": OUTCOME_FIGURES,
            }
        )
    for section in sections:
        for period in ("current", "previous"):
            if section["instrument"] is None:
                values, counts, derived = raw[period]["outputs"], OUTPUT_COUNTS, OUTPUT_DERIVED
            else:
                values = raw[period]["outcomes"][section["instrument"]]
                counts, derived = OUTCOME_COUNTS, OUTCOME_DERIVED
            safe, notes = (
                suppress_columns(values, threshold, counts, derived)
                if suppressed
                else (values, {c: {} for c in values})
            )
            section[period] = safe
            section.setdefault("notes", {})[period] = notes
    return {
        "title": TITLE,
        "period": describe_period(f.start, f.end),
        "previous": describe_period(before.start, before.end),
        "columns": columns,
        "selection": describe_selection(f, columns),
        "suppressed": suppressed,
        "threshold": threshold,
        "sections": sections,
    }


# --- Formatting, shared by the page, the PDF and the spreadsheets ---


def section(figures: dict, section_id: str) -> dict:
    return next(s for s in figures["sections"] if s["id"] == section_id)


def shown(value, kind: str, note: str | None = None, threshold: int = 5) -> str:
    """A figure as text: '<5' for a small hidden count, '—' for anything else hidden."""
    if value is None:
        if kind in ("count",) and note and note.startswith("fewer than"):
            return f"<{threshold}"
        return "—"
    if kind in ("count", "number"):
        return f"{int(value):,}"
    if kind == "hours":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "change":
        return f"{value:+.{change_digits(value)}f}"
    return str(value)


def change_digits(value: float) -> int:
    """Changes under 1 point (e.g. on a 1-5 mean-scored scale) get two decimals."""
    return 2 if abs(value) < 1 else 1


def network_color(column: str, index: int = 0) -> str:
    from charts.style import color_for

    return color_for("All" if column == COMBINED else column, index)


def cell(
    figures: dict, section_id: str, column: str, key: str, period: str = "current"
) -> tuple[str, str | None]:
    """(text, why hidden or None) of one figure in one column."""
    part = section(figures, section_id)
    figure = next(x for x in part["figures"] if x["key"] == key)
    value = part[period].get(column, {}).get(key)
    note = part["notes"][period].get(column, {}).get(key)
    text = shown(value, figure["kind"], note, figures["threshold"])
    if key == "mean_change" and value is not None:
        low = part[period][column].get("ci_low")
        high = part[period][column].get("ci_high")
        if low is not None and high is not None:
            digits = change_digits(value)
            text += f" ({low:+.{digits}f} to {high:+.{digits}f})"
    return text, note


def change_text(figures: dict, section_id: str, column: str, key: str) -> str:
    """The change from the previous period, in the figure's own units."""
    part = section(figures, section_id)
    kind = next(x for x in part["figures"] if x["key"] == key)["kind"]
    now = part["current"].get(column, {}).get(key)
    before = part["previous"].get(column, {}).get(key)
    if now is None or before is None:
        return "no comparison"
    diff = now - before
    if kind == "share":
        return f"{diff * 100:+.0f} points"
    if kind == "change":
        return f"{diff:+.{change_digits(diff)}f}"
    text = f"{diff:+,.0f}"
    if before:
        text += f" ({diff / before:+.0%})"
    return text


def suppression_note(figures: dict) -> str:
    k = figures["threshold"]
    if figures["suppressed"]:
        return (
            f"To protect the men's privacy, a count of fewer than {k} men shows as <{k}, "
            f"and a share, average or change based on fewer than {k} men shows as —. "
            "Where one network's figure is hidden, another is hidden too so that it "
            "can't be worked out from the combined total."
        )
    return "Exact figures (not suppressed): for internal use only, not for distribution."


def figure_rows(figures: dict) -> pd.DataFrame:
    """Every figure behind the summary, one row per period, section, figure and column."""
    rows = []
    for part in figures["sections"]:
        for period in ("current", "previous"):
            when = figures["period" if period == "current" else "previous"]
            for figure in part["figures"]:
                for column in figures["columns"]:
                    value = part[period].get(column, {}).get(figure["key"])
                    note = part["notes"][period].get(column, {}).get(figure["key"])
                    rows.append(
                        {
                            "period": when["label"],
                            "from": when["start"].isoformat(),
                            "to": when["end"].isoformat(),
                            "section": "Outputs"
                            if part["instrument"] is None
                            else f"Outcome: {part['title']}",
                            "figure": figure["label"],
                            "network": column,
                            "value": _rounded(value, figure["kind"]),
                            "shown": shown(value, figure["kind"], note, figures["threshold"]),
                            "note": f"hidden: {note}" if note else "",
                            "definition": figure["definition"],
                        }
                    )
    return pd.DataFrame(rows, dtype=object)


def _rounded(value, kind: str):
    if value is None:
        return None
    if kind in ("count", "number"):
        return int(value)
    return round(float(value), 4 if kind == "share" else 3)


def file_stem(figures: dict) -> str:
    period = figures["period"]
    label = period["fiscal"] or f"{period['start']:%Y-%m-%d}_{period['end']:%Y-%m-%d}"
    return f"impact-summary-{label}"


def to_csv(figures: dict) -> bytes:
    """The figures as CSV (UTF-8 with a BOM, so spreadsheets read the dashes right)."""
    from dashboard.importers import escape_spreadsheet_cell

    frame = figure_rows(figures)
    for column in frame.columns.drop("value"):  # numbers stay numbers
        frame[column] = [escape_spreadsheet_cell(v) for v in frame[column]]
    return frame.to_csv(index=False).encode("utf-8-sig")


def to_xlsx(figures: dict) -> bytes:
    """The figures as an XLSX workbook: the figures, and a sheet saying what they are."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from dashboard.importers import escape_spreadsheet_cell

    book = Workbook()
    sheet = book.active
    sheet.title = "Figures"
    frame = figure_rows(figures)
    sheet.append(list(frame.columns))
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([escape_spreadsheet_cell(v) for v in row])
    for letter, width in zip("ABCDEFGHIJ", (12, 11, 11, 30, 30, 11, 10, 20, 34, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    about = book.create_sheet("About")
    lines = [
        figures["title"],
        f"Period: {figures['period']['label']} ({figures['period']['dates']})",
        f"Compared with: {figures['previous']['label']} ({figures['previous']['dates']})",
        f"Selection: {figures['selection']}",
        suppression_note(figures),
        f"Prepared {figures['generated']:%Y-%m-%d %H:%M} by the Network Dashboard.",
    ]
    for line in lines:
        about.append([escape_spreadsheet_cell(line)])
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- Charts (the page draws them; the PDF embeds them as images) ---

CURRENT_COLOR, PREVIOUS_COLOR = "#009E73", "#BBBBBB"  # Okabe-Ito green and a neutral grey
IMPROVED, UNCHANGED, WORSE = "#009E73", "#BBBBBB", "#D55E00"


def outputs_chart(figures: dict, height: int = 480):
    """Sessions, men reached, new members and hours: this period beside the previous one."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from charts.style import styled

    keys = ["sessions_held", "men_reached", "new_members", "attendance_hours"]
    part = section(figures, "outputs")
    labels = {x["key"]: x["label"] for x in part["figures"]}
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[labels[k] for k in keys],
        horizontal_spacing=0.08,
        vertical_spacing=0.16,
    )
    columns = figures["columns"]
    for index, key in enumerate(keys):
        row, col = index // 2 + 1, index % 2 + 1
        for period, color, name in (
            ("previous", PREVIOUS_COLOR, figures["previous"]["label"]),
            ("current", CURRENT_COLOR, figures["period"]["label"]),
        ):
            texts = [cell(figures, "outputs", c, key, period)[0] for c in columns]
            values = [part[period].get(c, {}).get(key) for c in columns]
            fig.add_trace(
                go.Bar(
                    x=columns,
                    y=[v or 0 for v in values],
                    name=name,
                    marker_color=color,
                    text=texts,
                    textposition="outside",
                    cliponaxis=False,
                    showlegend=index == 0,
                    legendgroup=period,
                    hovertemplate=f"{name} · %{{x}}: %{{text}}<extra>{labels[key]}</extra>",
                ),
                row=row,
                col=col,
            )
        top = max(
            [
                v or 0
                for p in ("previous", "current")
                for v in (part[p].get(c, {}).get(key) for c in columns)
            ]
            + [1]
        )
        fig.update_yaxes(range=[0, top * 1.25], showticklabels=False, row=row, col=col)
    fig.update_layout(barmode="group", bargap=0.3)
    styled(fig, height=height)
    fig.update_annotations(font_size=15)
    fig.update_layout(margin=dict(t=80, b=30), legend=dict(y=1.1))
    return fig


def change_chart(figures: dict, height: int = 300):
    """Mean change with its 95% CI, per instrument, network and combined."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from charts.style import styled

    parts = [p for p in figures["sections"] if p["instrument"]]
    if not parts:
        return None
    fig = make_subplots(
        rows=1,
        cols=len(parts),
        horizontal_spacing=0.12,
        subplot_titles=[f"{p['title']}<br><sup>{p['direction']}</sup>" for p in parts],
    )
    columns = figures["columns"]
    for index, part in enumerate(parts, start=1):
        for i, column in enumerate(columns):
            values = part["current"].get(column, {})
            mean = values.get("mean_change")
            text = cell(figures, part["id"], column, "mean_change")[0]
            if mean is None:
                fig.add_trace(
                    go.Scatter(
                        x=[0],
                        y=[column],
                        mode="text",
                        text=["hidden" if part["notes"]["current"].get(column) else "no pairs"],
                        textposition="middle right",
                        showlegend=False,
                        hoverinfo="skip",
                    ),
                    row=1,
                    col=index,
                )
                continue
            low, high = values.get("ci_low"), values.get("ci_high")
            error = (
                dict(
                    type="data",
                    symmetric=False,
                    array=[(high or mean) - mean],
                    arrayminus=[mean - (low if low is not None else mean)],
                    width=6,
                    thickness=2,
                )
                if low is not None
                else None
            )
            fig.add_trace(
                go.Scatter(
                    x=[mean],
                    y=[column],
                    mode="markers+text",
                    text=[f"{mean:+.{change_digits(mean)}f}"],
                    textposition="top center",
                    error_x=error,
                    marker=dict(size=12, color=network_color(column, i)),
                    showlegend=False,
                    hovertemplate=f"{column}: {text}<extra>{part['title']}</extra>",
                ),
                row=1,
                col=index,
            )
        fig.update_yaxes(
            categoryorder="array",
            categoryarray=columns,
            range=[len(columns) - 0.5, -0.9],
            row=1,
            col=index,
        )
        fig.update_xaxes(title_text="change in score", zeroline=False, row=1, col=index)
    # "No change" lines, one per panel (add_vline per subplot costs ten times as much).
    zero = [
        dict(
            type="line",
            x0=0,
            x1=0,
            y0=0,
            y1=1,
            xref=f"x{i if i > 1 else ''}",
            yref=f"y{i if i > 1 else ''} domain",
            line=dict(dash="dot", color="#555"),
        )
        for i in range(1, len(parts) + 1)
    ]
    fig.update_layout(shapes=zero)
    styled(fig, height=height)
    fig.update_annotations(font_size=14)
    fig.update_layout(margin=dict(t=80))
    return fig


def shares_chart(figures: dict, height: int | None = None):
    """Share of the pairs reliably improved, unchanged and worse, per instrument and column."""
    import plotly.graph_objects as go

    from charts.style import styled

    parts = [p for p in figures["sections"] if p["instrument"]]
    if not parts:
        return None
    rows = []
    for part in parts:
        for column in figures["columns"]:
            values = part["current"].get(column, {})
            rows.append(
                (
                    f"{part['title']} · {column}",
                    values,
                    part["notes"]["current"].get(column, {}).get("share_improved"),
                )
            )
    fig = go.Figure()
    for key, name, color in (
        ("share_improved", "Reliably improved", IMPROVED),
        ("share_unchanged", "No reliable change", UNCHANGED),
        ("share_worse", "Reliably worse", WORSE),
    ):
        xs = [(v.get(key) or 0) * 100 for _, v, _ in rows]
        fig.add_trace(
            go.Bar(
                y=[label for label, _, _ in rows],
                x=xs,
                name=name,
                orientation="h",
                marker_color=color,
                text=[f"{x:.0f}%" if x >= 6 else "" for x in xs],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{y}: %{x:.0f}%<extra>" + name + "</extra>",
            )
        )
    for label, values, note in rows:
        if values.get("share_improved") is None:
            fig.add_annotation(
                x=1,
                y=label,
                xanchor="left",
                showarrow=False,
                text=f"hidden: {note}" if note else "no pairs",
            )
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_xaxes(range=[0, 100], ticksuffix="%", title="share of matched pairs")
    fig.update_yaxes(autorange="reversed")
    return styled(fig, height=height or 110 + 30 * len(rows))


def impact_charts(figures: dict) -> list[tuple[str, object]]:
    """(title, plotly figure) of every chart of the summary, in reading order."""
    charts = [
        ("Outputs, this period beside the previous one", outputs_chart(figures)),
        ("Change in scores with 95% confidence intervals", change_chart(figures)),
        ("Reliable change: share of men improved, unchanged and worse", shares_chart(figures)),
    ]
    return [(title, fig) for title, fig in charts if fig is not None]


# --- The PDF ---


def render_images(figs: list, width: int = 1000) -> list[bytes]:
    """PNG images of plotly figures, all through one headless browser (kaleido)."""
    import kaleido

    async def render() -> list[bytes]:
        async with kaleido.Kaleido(n=1) as k:
            return [
                await k.calc_fig(
                    fig,
                    opts=dict(format="png", width=width, height=fig.layout.height or 360, scale=2),
                )
                for fig in figs
            ]

    result: dict = {}

    def run() -> None:  # its own thread: a running event loop (e.g. a test's) is not ours
        try:
            result["images"] = asyncio.run(render())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["images"]


def write_pdf(figures: dict, images: list[bytes] | None = None, charts: bool = True) -> bytes:
    """The impact summary as a PDF: tables of every figure, then the charts as images.

    images: PNGs of impact_charts(figures) drawn beforehand (tests reuse them); by default
    they are drawn here. A server that can't draw charts still gets the tables, with a note.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12)
    small = ParagraphStyle(
        "small", parent=body, fontSize=7.5, leading=9, textColor=colors.HexColor("#444444")
    )
    cell_style = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell_style, fontName="Helvetica-Bold")
    h1 = ParagraphStyle("h1", parent=styles["Title"], alignment=0, fontSize=18, leading=22)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontSize=13, spaceBefore=10)
    h3 = ParagraphStyle("h3", parent=styles["Heading3"], fontSize=11, spaceBefore=6)

    def p(text: str, style=body) -> Paragraph:
        return Paragraph(escape(text), style)

    period, previous = figures["period"], figures["previous"]
    story = [
        p(f"{figures['title']}: {period['label']}", h1),
        p(
            f"{period['dates']} · {figures['selection']} · compared with "
            f"{previous['label']} ({previous['dates']})"
        ),
        Spacer(1, 3 * mm),
        p(suppression_note(figures), small),
        p(
            "Read it as a logic model: outputs are what the programs did; outcomes are "
            "what changed for the men, from their own surveys.",
            small,
        ),
    ]
    width = letter[0] - 36 * mm
    columns = figures["columns"]
    last = columns[-1]

    def value_paragraph(text: str, note: str | None) -> Paragraph:
        """A figure, and under a hidden one why it is hidden."""
        why = f"<br/><font size=7 color='#444444'>hidden: {escape(note)}</font>" if note else ""
        return Paragraph(escape(text) + why, cell_style)

    def table(part: dict) -> Table:
        header = [
            p("Figure", head),
            *(p(c, head) for c in columns),
            p(f"{last}, {previous['label']}", head),
            p("Change", head),
        ]
        rows = [header]
        for figure in part["figures"]:
            if not figure["show"]:
                continue
            label = Paragraph(
                f"<b>{escape(figure['label'])}</b><br/>"
                f"<font size=7 color='#444444'>{escape(figure['definition'])}"
                "</font>",
                cell_style,
            )
            cells = [
                value_paragraph(*cell(figures, part["id"], column, figure["key"]))
                for column in columns
            ]
            before = cell(figures, part["id"], last, figure["key"], "previous")
            change = change_text(figures, part["id"], last, figure["key"])
            rows.append([label, *cells, value_paragraph(*before), p(change, cell_style)])
        first = 62 * mm
        rest = (width - first) / (len(columns) + 2)
        result = Table(rows, colWidths=[first] + [rest] * (len(columns) + 2), repeatRows=1)
        result.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
                    ("BACKGROUND", (-2, 1), (-1, -1), colors.HexColor("#F3F3F3")),
                ]
            )
        )
        return result

    for part in figures["sections"]:
        if part["instrument"] is None:
            story += [p(part["title"], h2), table(part)]
            story.append(p("Outcomes: what changed for the men", h2))
            story.append(
                p(
                    "Each man's baseline survey is paired with his latest later "
                    "survey on the same scale; the pair belongs to the period of the "
                    "later survey. Reliable change uses the scale's reliability "
                    "(Cronbach's alpha).",
                    small,
                )
            )
        else:
            story.append(
                KeepTogether(
                    [
                        p(f"{part['title']} ({part['direction']})", h3),
                        p(part["name"], small),
                        table(part),
                    ]
                )
            )
    chart_list = impact_charts(figures) if charts else []
    if chart_list:
        story.append(p("Charts", h2))
        note = None
        if images is None:
            try:
                images = render_images([fig for _, fig in chart_list])
            except Exception as exc:  # noqa: BLE001 - tables still make a useful report
                note = f"The charts could not be drawn on this server ({type(exc).__name__})."
        if images:
            for (title, fig), png in zip(chart_list, images, strict=True):
                ratio = (fig.layout.height or 360) / 1000
                story.append(
                    KeepTogether(
                        [p(title, h3), Image(io.BytesIO(png), width=width, height=width * ratio)]
                    )
                )
        elif note:
            story.append(p(note, small))
    story += [
        Spacer(1, 4 * mm),
        p(
            f"Prepared {figures['generated']:%Y-%m-%d %H:%M} by the Network Dashboard "
            "of the Alberta Men's Network.",
            small,
        ),
    ]

    footer = f"{figures['title']} · {period['label']}"

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(letter[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=letter,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{figures['title']} {period['label']}",
        author="Network Dashboard",
        subject="Alberta Men's Network",
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
