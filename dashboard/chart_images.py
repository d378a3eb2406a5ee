"""PNG images of plotly figures for the PDF, drawn by one headless Chromium kept per process.

Starting Chromium costs seconds; drawing a chart in a running one a fraction of a second. So
one browser (kaleido) is started on first use, or ahead of it by `warm_up()`, kept in a thread
of its own with its own event loop, reused by every PDF of this process, and closed after
`IDLE_SECONDS` unused. Any error or timeout closes it, so the next PDF starts a fresh one.

The browser makes no request to any other host (issue 12, item 10): the page it draws in
loads plotly.js from the installed plotly package and no MathJax, and Chromium runs with its
background services off (component and safe-browsing updates, field trials, translation,
DNS prefetch, metrics) and a host resolver that resolves no name at all, so even a request
something still tried could not leave the machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds the charts of one PDF may take in all, starting the browser included (the PDF then
# has its tables and a note instead): well inside a web worker's 30 s.
RENDER_TIMEOUT = 20
# Seconds Chromium may take to start.
START_TIMEOUT = 30
# A browser unused this long is closed, giving back its memory.
IDLE_SECONDS = 600

# Added to choreographer's own switches (which already include --no-first-run,
# --disable-sync, --disable-component-update, --disable-breakpad and --metrics-recording-only).
OFFLINE_SWITCHES = (
    "--disable-background-networking",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-field-trial-config",
    "--dns-prefetch-disable",
    "--no-pings",
    "--no-service-autorun",
    "--disable-features=OptimizationHints,Translate,MediaRouter,DialMediaRouteProvider,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
    "InterestFeedContentSuggestions,SafeBrowsing,NetworkTimeServiceQuerying",
    # Every host name fails to resolve (the page is a local file: it needs none).
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def offline_chromium() -> type:
    """choreographer's Chromium, started with the OFFLINE_SWITCHES."""
    from choreographer.browsers.chromium import Chromium

    class OfflineChromium(Chromium):
        def get_cli(self):
            return [*super().get_cli(), *OFFLINE_SWITCHES]

    return OfflineChromium


class ChartRenderer:
    """One kaleido browser for this process, used by one PDF at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.kaleido = None
        self.pid: int | None = None
        self.last_used = 0.0
        self.failed_at = -float("inf")  # when warm_up last failed to start a browser

    def _run(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _start(self, timeout: float) -> None:
        import kaleido
        import plotly

        plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        page = kaleido.PageGenerator(plotly=plotly_js.as_uri(), mathjax=False)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="chart-images", daemon=True).start()
        self.pid = os.getpid()

        async def open_browser():
            browser = kaleido.Kaleido(
                n=1, timeout=RENDER_TIMEOUT, page_generator=page, browser_cls=offline_chromium()
            )
            return await browser.__aenter__()

        opening = asyncio.run_coroutine_threadsafe(open_browser(), self.loop)
        try:
            self.kaleido = opening.result(timeout)
        except BaseException:
            # Too slow (or failed): close the browser whenever it has started, then its loop.
            loop, self.loop = self.loop, None

            def close_late(future) -> None:
                if future.cancelled() or future.exception() is not None:
                    loop.call_soon_threadsafe(loop.stop)
                    return
                closing = asyncio.run_coroutine_threadsafe(future.result().close(), loop)
                closing.add_done_callback(lambda _: loop.call_soon_threadsafe(loop.stop))

            opening.add_done_callback(close_late)
            raise
        threading.Thread(target=self._close_when_idle, daemon=True).start()

    def _stop(self) -> None:
        browser, loop = self.kaleido, self.loop
        self.kaleido = self.loop = None
        if loop is None:
            return
        if browser is not None:
            try:
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(10)
            except Exception as exc:  # noqa: BLE001 - closing a broken browser may fail too
                log.warning("chart browser did not close cleanly: %s", exc)
        loop.call_soon_threadsafe(loop.stop)

    def _close_when_idle(self) -> None:
        loop = self.loop
        while True:
            time.sleep(min(IDLE_SECONDS, 60))
            with self.lock:
                if self.loop is not loop:
                    return
                if time.monotonic() - self.last_used > IDLE_SECONDS:
                    self._stop()
                    return

    def _ready(self, timeout: float = START_TIMEOUT) -> None:
        if self.kaleido is not None and self.pid != os.getpid():
            # A forked copy: the browser belongs to the parent process.
            self.kaleido = self.loop = None
        if self.kaleido is None:
            self._start(timeout)
        self.last_used = time.monotonic()

    def warm_up(self) -> None:
        """Start the browser in the background if it isn't running, so the next PDF is quick."""

        def start() -> None:
            with self.lock:
                try:
                    self._ready()
                except Exception as exc:  # noqa: BLE001 - the PDF will try (and report) again
                    log.warning("chart browser did not start: %s", exc)
                    self.failed_at = time.monotonic()
                    self._stop()

        if time.monotonic() - self.failed_at < IDLE_SECONDS or self.lock.locked():
            return
        if self.kaleido is None or self.pid != os.getpid():
            threading.Thread(target=start, daemon=True).start()

    def render(self, figs: list, width: int = 1000, timeout: float = RENDER_TIMEOUT) -> list[bytes]:
        """PNGs of the figures; raises TimeoutError when they take more than `timeout` seconds
        in all (waiting for the browser, starting it and drawing)."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"charts not drawn within {timeout:g} s")
            return remaining

        if not self.lock.acquire(timeout=left()):
            raise TimeoutError("the chart browser is busy")
        try:
            self._ready(left())
            images = []
            for fig in figs:
                opts = {
                    "format": "png",
                    "width": width,
                    "height": fig.layout.height or 360,
                    "scale": 1.5,  # about 200 dpi across the page: sharp in print
                }
                images.append(self._run(self.kaleido.calc_fig(fig, opts=opts), left()))
            self.last_used = time.monotonic()
            return images
        except BaseException:
            self._stop()
            raise
        finally:
            self.lock.release()


RENDERER = ChartRenderer()
