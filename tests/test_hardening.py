"""Holding under attack and faults (issue 11): concurrent imports, Redis outages, resource
limits, sign-in throttling, web hygiene and bad input."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import replace

import pytest
import redis
from sqlalchemy import select

from dashboard import redis_fallback
from dashboard.db import session_scope
from dashboard.importing import run_import, undo_import
from dashboard.models import Attendance, Network
from tests.conftest import TEST_PASSWORD, form_token, login, logout
from tests.dash_calls import run_callback

TODAY = dt.date(2025, 9, 1)
GROUP = "Calgary Tuesday Well-Being"
TUESDAYS = [dt.date(2025, 4, 1) + dt.timedelta(weeks=w) for w in range(5)]
CODES = [f"CGY-{i:04d}" for i in range(1, 81)]


def _import(engine, kind: str, text: str):
    report = run_import(engine, kind, f"{kind}.csv", text.encode(), username="t", today=TODAY)
    assert report.ok, report.as_text()
    return report


def _attendance(status: str) -> str:
    rows = [f"{day},{GROUP},{code},{status}" for day in TUESDAYS for code in CODES]
    return "date,group,member_code,status\n" + "\n".join(rows) + "\n"


def _statuses(engine) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(select(Attendance.status)))


@pytest.fixture
def attended(engine):
    """One group, 80 members, 400 attendance rows, all absent."""
    with session_scope(engine) as s:
        s.add(Network(name="Calgary"))
    _import(
        engine,
        "groups",
        f"network,group,program_type,start_date\nCalgary,{GROUP},wellbeing-10,2025-04-01\n",
    )
    roster = "member_code,network,group,enrolled_from,status\n" + "".join(
        f"{code},Calgary,{GROUP},2025-04-01,active\n" for code in CODES
    )
    _import(engine, "roster", roster)
    _import(engine, "attendance", _attendance("absent"))
    return engine


def test_concurrent_imports_end_as_one_after_the_other(attended):
    files = {"present": _attendance("present"), "excused": _attendance("excused")}
    start = threading.Barrier(len(files))
    reports = {}

    def run(status: str) -> None:
        start.wait()
        reports[status] = run_import(
            attended, "attendance", f"{status}.csv", files[status].encode(), today=TODAY
        )

    threads = [threading.Thread(target=run, args=(status,)) for status in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in reports.values()), [r.as_text() for r in reports.values()]
    first, second = sorted(reports, key=lambda status: reports[status].batch_id)
    assert _statuses(attended) == {second}
    # The second import saw the first's committed rows, so it changed all 400 of them.
    assert reports[second].rows_updated == len(TUESDAYS) * len(CODES)
    undo_import(attended, reports[second].batch_id, "t")
    assert _statuses(attended) == {first}
    undo_import(attended, reports[first].batch_id, "t")
    assert _statuses(attended) == {"absent"}


# --- Redis outages degrade, never break -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, on a port nobody else uses."""

    def __init__(self, port: int, directory):
        self.port, self.directory, self.process = port, directory, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def keys(self) -> int:
        return redis.Redis(port=self.port).dbsize()


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(_free_port(), tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


CARDS = "overview-value-sessions_held.children"
FY = "?from=2025-04-01&to=2026-03-31"


def _use_the_app(client, app, search: str = FY) -> None:
    """What a signed-in user does: open a page, its layout, change a filter."""
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    run_callback(client, app, CARDS, [("url", "search", search)])


def test_redis_outage_degrades_and_recovers(demo_settings, private_redis, monkeypatch):
    from dashboard.app_factory import create_app

    monkeypatch.setattr(redis_fallback, "RETRY_AFTER_SECONDS", 0.0)
    settings = replace(demo_settings, redis_url=f"redis://127.0.0.1:{private_redis.port}/0")
    app = create_app(settings, prepare=False)
    client = app.server.test_client()
    assert login(client, "leadership").status_code == 302
    _use_the_app(client, app)
    assert private_redis.keys() > 0  # the cache is in Redis

    private_redis.stop()
    _use_the_app(client, app, FY + "&network=Calgary")
    other = app.server.test_client()
    assert login(other, "leadership", "wrong-password").status_code == 401
    assert login(other, "funder").status_code == 302
    assert other.get("/").status_code == 200

    private_redis.start()  # empty again: a fresh server
    _use_the_app(client, app, FY + "&network=Edmonton")
    assert private_redis.keys() > 0  # used again once it answers


# --- sign-in throttling -----------------------------------------------------------------------


@pytest.mark.parametrize("variants", [["coord-calgary", " coord-calgary", "coord-calgary  "]])
def test_username_variants_share_one_throttle(demo_app, variants):
    for i in range(5):
        client = demo_app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{i + 1}"
        name = variants[i % len(variants)]
        assert login(client, name, "wrong-password").status_code == 401
    for i, name in enumerate([*variants, "COORD-CALGARY"]):
        client = demo_app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.1.{i + 1}"
        assert login(client, name).status_code == 429, name


def _guess_in_parallel(make_attempt, n: int) -> list:
    """n attempts started together from n threads; their results."""
    start, results = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        start.wait()
        results[i] = make_attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_guesses_never_pass_the_limit(demo_app):
    def guess(i: int) -> int:
        client = demo_app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.2.{i + 1}"
        return login(client, "coord-edmonton", "wrong-password").status_code

    codes = _guess_in_parallel(guess, 16)
    assert sorted(codes) == [401] * 5 + [429] * 11
    client = demo_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.2.99"
    assert login(client, "coord-edmonton").status_code == 429  # even the right password


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def throttle_store(request):
    """A Redis URL for the throttle, or None (each process counts on its own)."""
    if request.param == "memory":
        return None
    server = request.getfixturevalue("private_redis")
    return f"redis://127.0.0.1:{server.port}/0"


def test_throttle_counts_atomically(throttle_store):
    from dashboard.throttle import SignInThrottle

    throttle = SignInThrottle(5, 300, throttle_store)
    tokens = _guess_in_parallel(lambda i: throttle.reserve(["user:x", f"addr:{i}"])[0], 40)
    assert sum(t is not None for t in tokens) == 5


def test_throttle_window_slides(throttle_store):
    from dashboard.throttle import SignInThrottle

    clock = FakeClock()
    throttle = SignInThrottle(5, 300, throttle_store, clock=clock)
    start = clock.now
    for minute in range(5):  # failures at 0, 1, 2, 3 and 4 minutes
        clock.now = start + 60 * minute
        assert throttle.reserve(["user:x"]) != (None, "user:x")
    clock.now = start + 299
    assert throttle.reserve(["user:x"]) == (None, "user:x")
    # At 5 minutes the first failure leaves the window: room for one guess, not five.
    clock.now = start + 300.5
    assert throttle.reserve(["user:x"])[0] is not None
    assert throttle.reserve(["user:x"]) == (None, "user:x")
    clock.now = start + 360.5
    token, _ = throttle.reserve(["user:x"])
    # A success gives its place back: the next guess still has room.
    throttle.release(["user:x"], token)
    assert throttle.reserve(["user:x"])[0] is not None


def test_throttle_counts_in_process_while_redis_is_down(private_redis, monkeypatch):
    from dashboard.throttle import SignInThrottle

    monkeypatch.setattr(redis_fallback, "RETRY_AFTER_SECONDS", 0.0)
    throttle = SignInThrottle(5, 300, f"redis://127.0.0.1:{private_redis.port}/0")
    for _ in range(3):
        assert throttle.reserve(["user:x"])[0] is not None
    private_redis.stop()
    for _ in range(5):
        assert throttle.reserve(["user:x"])[0] is not None
    assert throttle.reserve(["user:x"]) == (None, "user:x")


# --- resource limits on imports -------------------------------------------------------------

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _xlsx(sheet_rows, dimension: str | None = None) -> bytes:
    """A minimal workbook whose one sheet is these <row> elements (a generator is fine)."""
    import io
    import zipfile

    from openpyxl import Workbook

    plain = io.BytesIO()
    Workbook().save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                zf.writestr(info, source.read(info))
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(SHEET_HEAD.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for row in sheet_rows:
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def _header_row() -> str:
    names = ["date", "group", "member_code", "status"]
    return (
        '<row r="1">'
        + "".join(_cell(f"{c}1", n) for c, n in zip("ABCD", names, strict=True))
        + "</row>"
    )


def _problems(engine, content: bytes, filename: str = "bomb.xlsx") -> list[tuple]:
    report = run_import(engine, "attendance", filename, content, today=TODAY, max_rows=100)
    assert not report.ok and report.batch_id is None
    return [(p.row, p.message) for p in report.problems]


def test_xlsx_of_empty_rows_is_refused_at_the_row_limit(engine):
    empty_rows = (f'<row r="{n}"/>' for n in range(2, 5_000))
    [(row, message)] = _problems(engine, _xlsx([_header_row(), *empty_rows]))
    assert row == 102 and "more than 100 data rows, the limit (blank rows count too)" in message
    # A row far down the sheet: the rows skipped in between count as blank rows.
    [(row, message)] = _problems(engine, _xlsx([_header_row(), '<row r="1048576"/>']))
    assert row == 102


def test_xlsx_declaring_millions_of_rows_is_refused_before_reading(engine):
    content = _xlsx([_header_row()], dimension="A1:D20000000")
    [(row, message)] = _problems(engine, content)
    assert "says it has 20000000 rows; the limit is 100 data rows" in message


def test_xlsx_that_unpacks_to_too_much_is_refused(engine):
    from dashboard.importing.reading import MAX_UNPACKED_BYTES

    spaces = " " * (MAX_UNPACKED_BYTES + 1)
    content = _xlsx([_header_row(), f'<row r="2">{_cell("A2", spaces)}</row>'])
    assert len(content) < 1_000_000  # a small upload...
    [(row, message)] = _problems(engine, content)
    assert "unpacks to 64 MB; the limit is 64 MB" in message  # ...refused unread


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_huge_cell_is_refused(engine, kind):
    spaces = " " * 100_000
    if kind == "xlsx":
        content = _xlsx([_header_row(), f'<row r="2">{_cell("A2", spaces + "x")}</row>'])
    else:
        content = f"date,group,member_code,status\n{spaces}x,g,c,present\n".encode()
    [(row, message)] = _problems(engine, content, f"bomb.{kind}")
    assert "Row 2 has a cell of 100001 characters; the limit is 2000" in message


# --- web hygiene: headers, CSRF, same origin --------------------------------------------------


def test_security_headers_on_every_response(demo_app, client_for):
    client = client_for("leadership")
    anonymous = demo_app.server.test_client()
    responses = [
        anonymous.get("/login"),
        client.get("/"),
        client.get("/_dash-layout"),
        client.get("/assets/app.css"),
        run_callback_response(client, demo_app),
    ]
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    # Dash's own inline start-up script is allowed by its hash, nothing else inline.
    script_src = responses[1].headers["Content-Security-Policy"].split("script-src ")[1]
    assert "'sha256-" in script_src.split(";")[0]
    assert "'unsafe-inline'" not in script_src.split(";")[0]


def run_callback_response(client, app, search: str = FY, **headers):
    from tests.dash_calls import callback_body, callback_outputs

    body = callback_body(callback_outputs(app, CARDS, "url"), [("url", "search", search)])
    return client.post("/_dash-update-component", json=body, headers=headers)


def test_sign_in_needs_the_form_token(demo_app):
    client = demo_app.server.test_client()
    data = {"username": "leadership", "password": TEST_PASSWORD}
    refused = client.post("/login", data=data)
    assert refused.status_code == 400 and b"form had expired" in refused.data
    forged = client.post("/login", data={**data, "csrf_token": "guessed"})
    assert forged.status_code == 400
    assert client.get("/_dash-layout").status_code == 401  # not signed in
    assert login(client, "leadership").status_code == 302


def test_cross_site_posts_are_refused(demo_app, client_for):
    client = demo_app.server.test_client()
    token = form_token(client)
    data = {"username": "leadership", "password": TEST_PASSWORD, "csrf_token": token}
    evil = {"Origin": "https://evil.example"}
    assert client.post("/login", data=data, headers=evil).status_code == 403
    fetched = client.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    same = client.post("/login", data=data, headers={"Origin": "http://localhost"})
    assert same.status_code == 302
    signed_in = client_for("leadership")
    assert run_callback_response(signed_in, demo_app, **evil).status_code == 403
    referer = {"Referer": "https://evil.example/page"}
    assert run_callback_response(signed_in, demo_app, **referer).status_code == 403
    assert run_callback_response(signed_in, demo_app, Origin="http://localhost").status_code == 200


def test_sign_out_only_by_a_post_with_the_token(client_for):
    client = client_for("funder")
    page = client.get("/logout")
    assert page.status_code == 200 and b'id="logout-submit"' in page.data
    assert client.post("/logout").status_code == 200  # no token: it asks again
    assert client.get("/_dash-layout").status_code == 200  # still signed in
    assert logout(client).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_request_body_size_is_limited(client_for):
    client = client_for("admin")
    huge = b"{" + b" " * (17 * 1024 * 1024) + b"}"
    response = client.post("/_dash-update-component", data=huge, content_type="application/json")
    assert response.status_code == 413


# --- bad input: clear 400s, friendly pages --------------------------------------------------


@pytest.mark.parametrize(
    "search, reason",
    [
        ("?network=Calgary%00", "network filter value holds a control character"),
        ("?period=all&" + "&".join(f"group=g{i}" for i in range(10_000)), "too many values"),
        ({"network": "Calgary"}, "the filters must be a URL query string"),
    ],
)
def test_bad_filters_are_a_one_line_400(client_for, demo_app, search, reason):
    response = run_callback_response(client_for("admin"), demo_app, search)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert reason in text and text.count("\n") == 1


def test_dates_at_the_calendars_edges_are_clamped(client_for, demo_app):
    search = "?from=1900-01-01&to=9999-12-31"
    response = run_callback_response(client_for("admin"), demo_app, search)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"inputs": "url.search"}, "'inputs' must be a list"),
        ({"inputs": [{"value": 1}]}, "an object with an id and a property"),
        ({"output": ["x"]}, "'output' must be a string"),
    ],
)
def test_malformed_callback_json_is_a_400(client_for, demo_app, change, reason):
    from tests.dash_calls import callback_body, callback_outputs

    body = callback_body(callback_outputs(demo_app, CARDS, "url"), [("url", "search", FY)])
    response = client_for("admin").post("/_dash-update-component", json={**body, **change})
    assert response.status_code == 400 and reason in response.get_data(as_text=True)


def test_errors_show_the_apps_own_page(demo_app, client_for):
    @demo_app.server.route("/boom")
    def boom():
        raise RuntimeError("secret detail")

    client = client_for("admin")
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "secret detail" not in page
    assert "Back to the dashboard" in page
    missing = client.get("/_dash-component-suites/nothing/here.js")
    assert missing.status_code == 404


# --- the impact PDF when charts can't be drawn in time -------------------------------------


def test_pdf_falls_back_to_tables_when_charts_time_out(demo_url, monkeypatch):
    from pypdf import PdfReader

    from dashboard import report, report_write
    from dashboard.access import Scope
    from dashboard.db import get_engine
    from dashboard.filters import Filters
    from dashboard.settings import Settings

    monkeypatch.setattr(report_write, "RENDER_TIMEOUT", 0.01)
    settings = Settings(database_url=demo_url, secret_key="x", demo_mode=False)
    period = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
    funder = Scope(role="funder", username="funder")
    figures = report.impact_figures(get_engine(demo_url), funder, period, settings)
    content = report.write_pdf(figures)
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "could not be drawn on this server (TimeoutError)" in text
    assert "Outputs: what the programs did" in text
    assert sum(len(page.images) for page in reader.pages) == 0
