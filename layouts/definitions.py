"""Definitions `/definitions`: every figure of the catalogue with its definition, kind and
privacy, for every signed-in role (the same rows as docs/definitions.md)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import definitions
from layouts.overview import page_settings


def figure_table(entries: list[dict]) -> dbc.Table:
    header = html.Thead(
        html.Tr(
            [
                html.Th(t, scope="col")
                for t in ("Figure", "Definition", "Kind", "Privacy", "Computed from")
            ]
        )
    )
    body = [
        html.Tr(
            [
                html.Th(
                    [row["label"], html.Div(row["key"], className="small text-muted fw-normal")],
                    scope="row",
                ),
                html.Td(row["definition"]),
                html.Td(row["kind"], className="text-nowrap"),
                html.Td(row["privacy"], className="small"),
                html.Td(row["reads"], className="small"),
            ],
            id=f"definitions-{row['key']}",
        )
        for row in entries
    ]
    return dbc.Table([header, html.Tbody(body)], size="sm", responsive=True, className="mb-4")


def layout(scope) -> html.Div:
    settings = page_settings()
    k = getattr(settings, "suppression_threshold", 5)
    content = [
        html.H1("Definitions", className="h3 mb-2"),
        html.P(
            "What every figure of the dashboard means: the pages, the downloads, the impact "
            "summary and its releases all use these definitions, with this dashboard's settings.",
            className="mb-1",
        ),
        html.P(
            "Coordinators (their own networks) and admins see exact figures. For leadership and "
            f"funders a count of men below {k} is shown as <{k}, the other counts of men are "
            "protected by a small, fixed adjustment (the cell-key method), and a figure resting "
            "on a hidden count is hidden with it.",
            className="small text-muted",
        ),
    ]
    for title, entries in definitions.rows(settings):
        content += [html.H2(title, className="h5 mt-3"), figure_table(entries)]
    return html.Div(content, className="definitions-page")
