"""The PDF's chart browser (issue 12 item 10, issue 11 finding 3): one Chromium per process,
reused, and no request to any other host while charts are drawn.

How the network test sees Chromium's requests: Chromium is a subprocess, so patching Python's
sockets sees nothing. choreographer passes `CHOREO_PROXY_SERVER` to Chromium as
`--proxy-server`; pointed at a local listener of the test, every http(s) request Chromium
makes (to a host name, without resolving it) arrives there as `CONNECT host:443` or
`GET http://host/...`, and the listener records it. A control run with choreographer's plain
Chromium shows the listener does see the browser's requests (a chart with a remote image, and
Chromium's own calls to Google's hosts).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import plotly.graph_objects as go
import pytest

from dashboard import chart_images

pytestmark = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")),
    reason="needs Chromium",
)


class Listener:
    """A local TCP server that records the first line of every connection made to it."""

    def __init__(self):
        self.seen: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(300).split(b"\r\n")[0].decode("latin-1"))
                except OSError as exc:
                    self.seen.append(repr(exc))


@pytest.fixture
def proxy(monkeypatch):
    listener = Listener()
    monkeypatch.setenv("CHOREO_PROXY_SERVER", f"127.0.0.1:{listener.port}")
    yield listener
    listener.sock.close()


def _charts() -> list[go.Figure]:
    bars = go.Figure(go.Bar(x=["Calgary", "Edmonton"], y=[412, 388], text=["412", "388"]))
    line = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.2, 0.3, 0.25], mode="lines+markers"))
    return [bars, line]


def _draw(renderer: chart_images.ChartRenderer, figs, linger: float = 2.0) -> list[bytes]:
    """Draw, keep the browser open a little (background calls start within seconds), close."""
    try:
        images = renderer.render(figs)
        time.sleep(linger)
        return images
    finally:
        with renderer.lock:
            renderer._stop()


def test_charts_are_drawn_without_any_request_to_another_host(proxy):
    images = _draw(chart_images.ChartRenderer(), _charts())
    assert [png[:8] for png in images] == [b"\x89PNG\r\n\x1a\n"] * 2
    assert proxy.seen == []


def test_the_listener_sees_the_browser_requests_without_the_offline_switches(proxy, monkeypatch):
    from choreographer.browsers.chromium import Chromium

    monkeypatch.setattr(chart_images, "offline_chromium", lambda: Chromium)
    remote = go.Figure(
        go.Bar(x=[1], y=[1]),
        layout={
            "images": [
                {"source": "https://example.invalid/logo.png", "sizex": 1, "sizey": 1, "x": 0}
            ]
        },
    )
    _draw(chart_images.ChartRenderer(), [remote], linger=1.0)
    assert any("example.invalid" in line for line in proxy.seen), proxy.seen


def test_chromium_runs_with_background_networking_off_and_resolves_no_name():
    from choreographer.channels.pipe import Pipe

    browser = chart_images.offline_chromium()(Pipe())
    browser.pre_open()
    try:
        cli = browser.get_cli()
    finally:
        browser.clean()
    for switch in (
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        assert switch in cli, switch


def test_one_browser_serves_every_pdf_of_the_process():
    renderer = chart_images.ChartRenderer()
    try:
        first = renderer.render(_charts()[:1])
        browser = renderer.kaleido
        second = renderer.render(_charts()[:1])
        assert renderer.kaleido is browser
        assert first == second
    finally:
        with renderer.lock:
            renderer._stop()
    assert renderer.kaleido is None


def test_a_timeout_gives_up_the_browser_and_the_next_pdf_starts_a_fresh_one():
    renderer = chart_images.ChartRenderer()
    with pytest.raises(TimeoutError):
        renderer.render(_charts(), timeout=0.05)
    assert renderer.kaleido is None and renderer.loop is None
    try:
        images = renderer.render(_charts()[:1])
        assert images[0][:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        with renderer.lock:
            renderer._stop()
