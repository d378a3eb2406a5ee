"""Placeholder until the page lands in this session."""

from dash import html


def layout(scope):
    return html.Div(html.H1("Attendance", className="h3"))
