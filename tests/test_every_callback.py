"""Issue 13: every callback, for every role, on a real request: whatever fetched figures for
the user passed them through the privacy gate before answering."""

from __future__ import annotations

import flask
import pytest

from dashboard.access import ROLE_PAGES
from dashboard.auth import SHELL, page_of
from tests.conftest import ROLE_USERS, login

SEARCH = "?from=2025-04-01&to=2026-03-31"


@pytest.fixture(scope="module")
def app_and_log(demo_url):
    from dashboard.app_factory import create_app
    from dashboard.settings import Settings

    app = create_app(
        Settings(database_url=demo_url, secret_key="test-secret", demo_mode=False), prepare=False
    )
    log: list[dict] = []

    @app.server.after_request
    def remember(response):
        if flask.request.path.endswith("/_dash-update-component"):
            log.append(
                {
                    "fetched": getattr(flask.g, "figures_fetched", 0),
                    "gated": getattr(flask.g, "gated", 0),
                    "status": response.status_code,
                }
            )
        return response

    return app, log


def _body(key: str, spec: dict) -> dict:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]

    def value(item: dict):
        return SEARCH if item["property"] == "search" else None

    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [{**i, "value": value(i)} for i in spec["inputs"]],
        "state": [{**s, "value": value(s)} for s in spec["state"]],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"][:1]],
    }


def _url_callbacks(app) -> list[tuple[str, dict]]:
    """Callbacks that read a page's filters from its URL: the ones that send figures."""
    return [
        (key, spec)
        for key, spec in app.callback_map.items()
        if any(i["property"] == "search" for i in spec["inputs"])
        and not any(isinstance(i["id"], dict) for i in spec["inputs"] + spec["state"])
    ]


@pytest.mark.parametrize("username", list(ROLE_USERS))
def test_every_callback_that_fetches_figures_gates_them(app_and_log, username):
    app, log = app_and_log
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    role = ROLE_USERS[username][0]
    checked = 0
    for key, spec in _url_callbacks(app):
        page = page_of(spec["inputs"][0]["id"])
        log.clear()
        response = client.post("/_dash-update-component", json=_body(key, spec))
        if page not in (None, SHELL) and page not in ROLE_PAGES[role]:
            assert response.status_code == 403, key
            continue
        if response.status_code != 200:
            continue  # no update (PreventUpdate) or a refusal: nothing sent
        call = log[-1]
        if role == "funder":  # he reads frozen releases only: no live query at all
            assert call["fetched"] == 0, (key, call)
        assert call["fetched"] == 0 or call["gated"] > 0, (key, call)
        checked += call["fetched"] > 0
    assert checked >= (0 if role == "funder" else 10)
