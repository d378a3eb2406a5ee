"""Impact summary callbacks.

Leadership, coordinators and admins explore: the fiscal-year picker (written to the URL), the
summary and its downloads, all from dashboard.report.impact_figures so they agree.
Funders read releases only (SPEC §4): a picker of published releases, the frozen summary and
its downloads built from the frozen figures. Every callback here that a funder may call answers
him from a published release and never reads the URL's filters for him.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, ctx, dcc, html, no_update

from callbacks import impact_releases
from callbacks.shell import cached_view, today, url_filters
from charts.style import GRAPH_CONFIG
from dashboard import audit, queries, releases, report
from dashboard.auth import current_scope
from dashboard.db import session_scope
from dashboard.filters import fiscal_year_label, fiscal_year_start
from dashboard.service import current_service
from dashboard.targets import fiscal_years, parse_period, period_label
from layouts.impact import WHOLE_YEAR

FORMATS = {"impact-pdf-button": "pdf", "impact-csv-button": "csv", "impact-xlsx-button": "xlsx"}


def fiscal_year_options() -> list[dict]:
    """FY2021-22 ... the current one: from the data's first year to today."""
    first = current_service().lookup(queries.data_start) or today()
    return [{"label": label, "value": label} for label in reversed(fiscal_years(first, today()))]


def url_period(search) -> tuple[str | None, str | None]:
    """The URL's period as the pickers show it: (fiscal year, quarter or WHOLE_YEAR) when it
    is exactly a fiscal year or quarter, else (None, None)."""
    f = url_filters(search)
    label = period_label(f.start, f.end)
    if label is None:
        return None, None
    fiscal_year, _, quarter = label.partition("-Q")
    return fiscal_year, f"Q{quarter}" if quarter else WHOLE_YEAR


def is_funder() -> bool:
    return current_scope().role == "funder"


def show_fiscal_year(search):
    """The pickers follow the URL: its fiscal year and quarter, or empty for any other
    period. A funder has no free periods: nothing to pick here."""
    if is_funder():
        return None, [], no_update
    fiscal_year, quarter = url_period(search)
    return fiscal_year, fiscal_year_options(), quarter


def period_search(fiscal_year: str, quarter: str | None, search):
    """The URL with the period of this fiscal year (and quarter): its dates (from/to), the
    other filters kept; no_update when the URL already holds it (or for a funder)."""
    label = fiscal_year if quarter in (None, WHOLE_YEAR) else f"{fiscal_year}-{quarter}"
    if is_funder() or label == period_label(*dates_of(search)):
        return no_update
    start, end = parse_period(label)
    return "?" + replace(url_filters(search), start=start, end=end, preset=None).to_query()


def dates_of(search) -> tuple[dt.date, dt.date]:
    f = url_filters(search)
    return f.start, f.end


def choose_fiscal_year(chosen, search):
    """Choosing a fiscal year writes its dates (from/to) into the URL, so the filter bar, the
    page and the downloads all read the same period; a quarter is then chosen beside it."""
    if not chosen:
        return no_update
    return period_search(chosen, WHOLE_YEAR, search)


def choose_quarter(quarter, chosen, search):
    """Choosing a quarter (or the whole year) of the chosen fiscal year, or with none chosen
    of the one the URL's period starts in, writes its dates into the URL."""
    if not quarter:
        return no_update
    fiscal_year = chosen or fiscal_year_label(fiscal_year_start(dates_of(search)[0]))
    return period_search(fiscal_year, quarter, search)


def figures_for(search) -> dict:
    """The live summary as the signed-in explorer may see it (protected for leadership)."""
    return report.impact_figures(current_service(), current_scope(), url_filters(search))


def value_cell(
    figures: dict, section_id: str, column: str, key: str, period: str = "current"
) -> html.Td:
    text, note = report.cell(figures, section_id, column, key, period)
    if not note:
        return html.Td(text)
    return html.Td(
        [text, html.Div(f"hidden: {note}", className="suppressed-note")], title=f"hidden: {note}"
    )


def figures_table(figures: dict, section_ids: list[str]) -> dbc.Table:
    """Figures down, networks across, then the last column's previous period and change."""
    columns = figures["columns"]
    last = columns[-1]
    previous = figures["previous"]["label"]
    header = html.Thead(
        html.Tr(
            [
                html.Th("Figure", scope="col"),
                *(html.Th(c, scope="col") for c in columns),
                html.Th(f"{last}, {previous}", scope="col", className="table-light"),
                html.Th("Change", scope="col", className="table-light"),
            ]
        )
    )
    body = []
    for section_id in section_ids:
        part = report.section(figures, section_id)
        if part["instrument"]:
            body.append(
                html.Tr(
                    html.Th(
                        [
                            f"{part['title']} ",
                            html.Span(
                                f"({part['direction']}) · {part['name']}",
                                className="fw-normal small text-muted",
                            ),
                        ],
                        colSpan=len(columns) + 3,
                        scope="colgroup",
                        className="pt-3",
                    )
                )
            )
        for figure in part["figures"]:
            if not figure["show"]:
                continue
            label = html.Th(
                [
                    figure["label"],
                    html.Div(figure["definition"], className="small text-muted fw-normal"),
                ],
                scope="row",
            )
            before = value_cell(figures, section_id, last, figure["key"], "previous")
            before.className = "table-light"
            body.append(
                html.Tr(
                    [
                        label,
                        *(value_cell(figures, section_id, c, figure["key"]) for c in columns),
                        before,
                        html.Td(
                            report.change_text(figures, section_id, last, figure["key"]),
                            className="table-light",
                        ),
                    ]
                )
            )
    return dbc.Table(
        [header, html.Tbody(body)],
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        className="mb-0 impact-table",
    )


def chart(title: str, fig, caption: str, wide: bool = False) -> dbc.Card:
    """A chart in its card; a `wide` one keeps a laptop's width on a phone and scrolls
    sideways there (assets/screens.css), its panels too small to read otherwise."""
    graph = dcc.Graph(figure=fig, config=GRAPH_CONFIG)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(title, className="h6"),
                html.Div(graph, className="chart-scroll") if wide else graph,
                html.P(caption, className="small text-muted mb-0"),
            ]
        ),
        className="mb-3 impact-chart",
    )


def summary(search):
    """The page's period line and the whole summary; for a funder, his latest release
    (whatever the URL says)."""
    if is_funder():
        release = funder_release(None)
        if release is None:
            return impact_releases.NO_RELEASE, impact_releases.no_release()
        return render_summary(release["figures"])
    return live_summary(search)


@cached_view
def live_summary(search):
    """The summary of the URL's period as the signed-in explorer may see it."""
    return render_summary(figures_for(search))


def render_summary(figures: dict):
    """The period line and the summary of impact_figures (live, or a release's frozen ones)."""
    period, previous = figures["period"], figures["previous"]
    line = (
        f"{period['label']}"
        + (f" ({period['dates']})" if period["fiscal"] else "")
        + f" · {figures['selection']} · compared with {previous['label']}"
    )
    report.warm_up_charts()  # the page offers the PDF: have its chart browser ready
    outcome_ids = [s["id"] for s in figures["sections"] if s["instrument"]]
    content = [
        html.P(report.suppression_note(figures), className="suppressed-note mb-3"),
        html.H2("Outputs: what the programs did", className="h4"),
        dbc.Card(dbc.CardBody(figures_table(figures, ["outputs"])), className="mb-3"),
        chart(
            "Outputs, this period beside the previous one",
            report.outputs_chart(figures),
            f"Grey: {previous['label']}; green: {period['label']}. Bars of hidden counts "
            "are left out.",
            wide=True,
        ),
        html.H2("Outcomes: what changed for the men", className="h4 mt-4 impact-outcomes"),
        html.P(
            "Each man's baseline survey is paired with his latest later survey on the same "
            "scale; a pair belongs to the period of its later survey and to the man's home "
            "network. Reliable change uses the scale's reliability (Cronbach's alpha), so "
            "only changes larger than measurement error count.",
            className="small",
        ),
    ]
    if outcome_ids:
        content.append(
            dbc.Card(dbc.CardBody(figures_table(figures, outcome_ids)), className="mb-3")
        )
        content.append(
            chart(
                "Change in scores with 95% confidence intervals",
                report.change_chart(figures),
                "Dot: mean change (later minus baseline); line: its 95% "
                "confidence interval. A line that doesn't cross 0 is a change "
                "unlikely to be chance.",
            )
        )
        content.append(
            chart(
                "Reliable change: share of men improved, unchanged and worse",
                report.shares_chart(figures),
                "Of the men with a matched pair, the share whose score changed "
                "by more than measurement error.",
            )
        )
    content.append(
        html.P(
            f"Prepared {figures['generated']:%Y-%m-%d %H:%M} from the Network Dashboard.",
            className="small text-muted",
        )
    )
    return line, content


def export_detail(figures: dict, fmt: str) -> str:
    return (
        f"impact summary {figures['period']['label']} ({fmt}); {figures['selection']}; "
        f"{'suppressed' if figures['suppressed'] else 'exact figures'}"
    )


def download(pdf_clicks, csv_clicks, xlsx_clicks, search):
    """One download of the summary (the figures the page shows), audited as an export; for a
    funder, his latest release (whatever the URL says)."""
    fmt = FORMATS.get(ctx.triggered_id or "")
    if fmt is None:
        return no_update, no_update, no_update, no_update
    if is_funder():
        release = funder_release(None)
        if release is None:
            return no_update, no_update, no_update, impact_releases.NO_RELEASE
        return send(
            release["figures"], fmt, FORMATS, release_detail(release, fmt), release_stem(release)
        )
    figures = report.impact_figures(current_service(), current_scope(), url_filters(search))
    return send(figures, fmt, FORMATS, export_detail(figures, fmt))


# What the page shows while a file is prepared; a PDF draws its charts (a few seconds).
PREPARING = "Preparing the file… a PDF takes a few seconds (it draws its charts)."


def downloading(prefix: str) -> list:
    """The `running` outputs of a download callback: its buttons disabled, a progress line."""
    buttons = [
        (Output(f"{prefix}-{fmt}-button", "disabled"), True, False)
        for fmt in ("pdf", "csv", "xlsx")
    ]
    return [*buttons, (Output(f"{prefix}-download-progress", "children"), PREPARING, "")]


def send(figures: dict, fmt: str, formats: dict, detail: str, stem: str | None = None):
    """The file of the summary in one format, as one of the download outputs; audited."""
    scope = current_scope()
    service = current_service()
    stem = stem or report.file_stem(figures)
    if fmt == "pdf":
        content = report.write_pdf(figures)
    elif fmt == "csv":
        content = report.to_csv(figures)
    else:
        content = report.to_xlsx(figures)
    with session_scope(service.engine) as session:
        audit.record(
            session,
            "export",
            scope.username,
            detail,
            flask.request.remote_addr if flask.has_request_context() else None,
        )
    data = dcc.send_bytes(content, f"{stem}.{fmt}")
    outputs = [no_update, no_update, no_update]
    outputs[list(formats.values()).index(fmt)] = data
    return (*outputs, f"{stem}.{fmt} ready {dt.datetime.now():%H:%M}")


# --- A funder's releases ---

RELEASE_FORMATS = {
    "impact-release-pdf-button": "pdf",
    "impact-release-csv-button": "csv",
    "impact-release-xlsx-button": "xlsx",
}


def funder_release(release_id) -> dict | None:
    """The release a reader asked for if he may read it, else the latest published one."""
    scope = current_scope()
    engine = current_service().engine
    if release_id is not None:
        try:
            return releases.get(engine, int(release_id), scope)
        except (releases.ReleaseError, ValueError, TypeError):
            pass
    return releases.latest(engine, scope)


def release_stem(release: dict) -> str:
    """impact-summary-FY2025-26-release-3: one file name per release, corrections apart."""
    return f"{report.file_stem(release['figures'])}-release-{release['id']}"


def release_detail(release: dict, fmt: str) -> str:
    return f"release #{release['id']} {release['period']} ({fmt}); published figures"


def release_choices(_ready):
    """The published releases, latest first (superseded ones marked), the latest chosen."""
    found = releases.published(current_service().engine, current_scope())
    options = [{"label": releases.describe(r), "value": r["id"]} for r in found]
    latest = next((r["id"] for r in found if r["status"] == releases.PUBLISHED), None)
    return options, latest


def show_release(release_id):
    """A release as funders see it: the note (superseded: what changed), and the summary."""
    release = funder_release(release_id)
    if release is None:
        return impact_releases.NO_RELEASE, None, impact_releases.no_release()
    successor = None
    if release["superseded_by_id"]:
        successor = releases.get(
            current_service().engine, release["superseded_by_id"], current_scope()
        )
    line, content = render_summary(release["figures"])
    return line, impact_releases.release_note(release, successor), content


def download_release(pdf_clicks, csv_clicks, xlsx_clicks, release_id):
    """A release's file, built from its frozen figures."""
    fmt = RELEASE_FORMATS.get(ctx.triggered_id or "")
    release = funder_release(release_id) if fmt else None
    if release is None:
        return no_update, no_update, no_update, impact_releases.NO_RELEASE if fmt else no_update
    return send(
        release["figures"],
        fmt,
        RELEASE_FORMATS,
        release_detail(release, fmt),
        release_stem(release),
    )


def register(app) -> None:
    app.callback(
        Output("impact-fy", "value"),
        Output("impact-fy", "options"),
        Output("impact-quarter", "value"),
        Input("impact-location", "search"),
    )(show_fiscal_year)
    app.callback(
        Output("impact-location", "search"),
        Input("impact-fy", "value"),
        State("impact-location", "search"),
        prevent_initial_call=True,
    )(choose_fiscal_year)
    app.callback(
        Output("impact-location", "search", allow_duplicate=True),
        Input("impact-quarter", "value"),
        State("impact-fy", "value"),
        State("impact-location", "search"),
        prevent_initial_call=True,
    )(choose_quarter)
    app.callback(
        Output("impact-period-text", "children"),
        Output("impact-content", "children"),
        Input("impact-location", "search"),
    )(summary)
    app.callback(
        Output("impact-pdf-download", "data"),
        Output("impact-csv-download", "data"),
        Output("impact-xlsx-download", "data"),
        Output("impact-download-status", "children"),
        Input("impact-pdf-button", "n_clicks"),
        Input("impact-csv-button", "n_clicks"),
        Input("impact-xlsx-button", "n_clicks"),
        State("impact-location", "search"),
        running=downloading("impact"),
        prevent_initial_call=True,
    )(download)
    app.callback(
        Output("impact-release", "options"),
        Output("impact-release", "value"),
        Input("impact-release-ready", "data"),
    )(release_choices)
    app.callback(
        Output("impact-release-period", "children"),
        Output("impact-release-note", "children"),
        Output("impact-release-content", "children"),
        Input("impact-release", "value"),
    )(show_release)
    app.callback(
        Output("impact-release-pdf-download", "data"),
        Output("impact-release-csv-download", "data"),
        Output("impact-release-xlsx-download", "data"),
        Output("impact-release-download-status", "children"),
        Input("impact-release-pdf-button", "n_clicks"),
        Input("impact-release-csv-button", "n_clicks"),
        Input("impact-release-xlsx-button", "n_clicks"),
        State("impact-release", "value"),
        running=downloading("impact-release"),
        prevent_initial_call=True,
    )(download_release)
    impact_releases.register(app, render_summary)
    app.clientside_callback(
        "function(n) { if (n) { window.print(); } return ''; }",
        Output("impact-print-done", "children"),
        Input("impact-print-button", "n_clicks"),
        prevent_initial_call=True,
    )
