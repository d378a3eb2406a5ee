"""A real deployment: the README's "Start with your own data" run command by command, and
gunicorn with two workers sharing a private Redis."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard.db import get_engine, init_db, session_scope
from dashboard.networks import create_network
from dashboard.users import create_user
from tests.conftest import TEST_PASSWORD, _fresh_database
from tests.dash_calls import callback_body

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PASSWORD = "first-admin-password"


def own_data_commands() -> list[str]:
    """The lines of the README's own-data command block."""
    block = README.split("<!-- own-data commands -->", 1)[1].split("```bash\n", 1)[1]
    return [line for line in block.split("```", 1)[0].splitlines() if line.strip()]


def run_line(line: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """Run one README line as typed, with this Python for `python`."""
    args = shlex.split(line)
    assert args[:3] == ["python", "-m", "dashboard"], line
    return subprocess.run(
        [sys.executable, *args[1:]],
        cwd=cwd,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fresh_url(tmp_path_factory):
    yield from _fresh_database(tmp_path_factory, "own_data")


def test_readme_own_data_walkthrough(fresh_url, tmp_path):
    env = {"DATABASE_URL": fresh_url, "SECRET_KEY": "walkthrough-secret", "DEMO_MODE": ""}
    lines = own_data_commands()
    assert [shlex.split(line)[3] for line in lines] == [
        "init-db",
        "create-network",
        "create-user",
        "template",
        "import",
        "template",
        "import",
        "template",
        "import",
        "template",
        "import",
        "summary",
    ]
    printed = []
    for line in lines:
        done = run_line(line, tmp_path, env)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        printed.append(done.stdout)
    assert "added 1 survey response(s)" in "".join(printed)
    assert "men_reached: 1" in done.stdout.replace(" ", "").replace(":", ": ")
    figures = json.loads(
        run_line(
            "python -m dashboard summary --from 2025-04-01 --to 2025-06-30 --network Calgary",
            tmp_path,
            env,
        ).stdout
    )
    assert (figures["men_reached"], figures["sessions_held"], figures["attendance"]) == (1, 1, 1)


# --- gunicorn, two workers, a private Redis ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    wait_for(lambda: client.ping(), 10, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


class Site:
    """Requests to the running gunicorn; the cookie is kept by hand (it is Secure)."""

    def __init__(self, port: int, access_log: Path):
        self.port = port
        self.access_log = access_log

    def request(self, method: str, path: str, body=None, cookie: str | None = None):
        headers = {"Cookie": cookie} if cookie else {}
        if isinstance(body, dict) and "output" in body:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        elif isinstance(body, dict):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheader("Set-Cookie") or "", response.read()
        finally:
            conn.close()

    def sign_in_form(self, fields: dict) -> tuple[str, dict]:
        """The sign-in form's session cookie and fields with its CSRF token."""
        _, set_cookie, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        return set_cookie.split(";", 1)[0], {**fields, "csrf_token": token}

    def fail_sign_in(self, fields: dict) -> int:
        cookie, form = self.sign_in_form(fields)
        return self.request("POST", "/login", form, cookie=cookie)[0]

    def sign_in(self, username: str, password: str = TEST_PASSWORD) -> str:
        cookie, form = self.sign_in_form({"username": username, "password": password})
        status, set_cookie, _ = self.request("POST", "/login", form, cookie=cookie)
        assert status == 302, status
        return set_cookie.split(";", 1)[0]

    def pids(self, after: int, path: str) -> set[str]:
        """The workers that answered `path` in the access log's lines after line `after`."""
        lines = self.access_log.read_text().splitlines()[after:]
        return {
            m.group(1) for line in lines if (m := re.search(rf'pid=<?(\d+)>? "\w+ {path}"', line))
        }

    def on_both_workers(self, method: str, path: str, body=None, cookie=None, rounds: int = 10):
        """Send batches of parallel requests until both workers have answered one; every
        answer (status, body) of those batches."""
        answers = []
        for _ in range(rounds):
            mark = len(self.access_log.read_text().splitlines())
            with ThreadPoolExecutor(4) as pool:
                answers += pool.map(lambda _: self.request(method, path, body, cookie), range(4))
            time.sleep(0.3)  # the access log line follows the response
            if len(self.pids(mark, re.escape(path))) >= 2:
                return [(status, data) for status, _, data in answers]
        raise AssertionError(f"only one worker answered {path}")


def start_gunicorn(url: str, redis_url: str, logs: Path) -> tuple[subprocess.Popen, Site]:
    """gunicorn -c gunicorn.conf.py app:server, two workers, on a free port; ready."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "gunicorn-test-secret",
        "DEMO_MODE": "0",
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "BIND": f"127.0.0.1:{port}",
    }
    with (logs / "access.log").open("w") as out, (logs / "error.log").open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:server"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: the workers end with it
        )
    site = Site(port, logs / "access.log")
    try:
        wait_for(lambda: site.request("GET", "/readyz")[0] == 200, 120, "gunicorn")
    except AssertionError:
        stop(server)
        raise
    return server, site


def stop(server: subprocess.Popen) -> None:
    """gunicorn's quick shutdown; its process group is killed if it takes long."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(3)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url):
    """(Site, database URL): gunicorn with two workers, a private Redis, two users."""
    for url in _fresh_database(tmp_path_factory, "gunicorn"):
        engine = get_engine(url)
        init_db(engine)
        with session_scope(engine) as session:
            create_user(session, "ada", "admin", [], TEST_PASSWORD)
            create_user(session, "bo", "leadership", [], TEST_PASSWORD)
        engine.dispose()
        server, running = start_gunicorn(url, redis_url, tmp_path_factory.mktemp("gunicorn"))
        try:
            yield running, url
        finally:
            stop(server)


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


USERS = [
    ("admin-users", "rowData"),
    ("admin-edit-user", "options"),
    ("admin-new-networks", "options"),
    ("admin-edit-networks", "options"),
]


def test_workers_share_readiness(site):
    site, _ = site
    answers = site.on_both_workers("GET", "/readyz")
    assert {json.loads(body)["redis"] for _, body in answers} == {"ok"}


def test_a_sign_in_on_one_worker_is_valid_on_every_worker(site):
    site, _ = site
    cookie = site.sign_in("ada")
    answers = site.on_both_workers("GET", "/_dash-layout", cookie=cookie)
    assert {status for status, _ in answers} == {200}


def test_a_deactivated_user_is_refused_by_every_worker_at_once(site):
    site, url = site
    cookie = site.sign_in("bo")
    assert {s for s, _ in site.on_both_workers("GET", "/_dash-layout", cookie=cookie)} == {200}
    assert cli(url, "deactivate-user", "bo").returncode == 0
    answers = site.on_both_workers("GET", "/_dash-layout", cookie=cookie)
    assert {status for status, _ in answers} == {401}


def test_a_write_is_seen_by_every_worker_at_once(site):
    site, url = site
    cookie = site.sign_in("ada")
    body = callback_body(USERS, [("admin-changed", "data", 0)])

    def networks_offered() -> set:
        answers = site.on_both_workers("POST", "/_dash-update-component", body, cookie)
        assert {status for status, _ in answers} == {200}
        return {
            tuple(json.loads(data)["response"]["admin-new-networks"]["options"])
            for _, data in answers
        }

    before = networks_offered()  # cached, in Redis, under the data version of now
    # Written from this process, as an import on the command line would (and at once: no
    # worker has had time to read the data version again on a timer).
    with session_scope(get_engine(url)) as session:
        create_network(session, "Banff", by="cli")
    assert "Banff" not in str(before)
    assert networks_offered() == {("Banff",)}


def test_throttling_counts_across_workers(site):
    """Last: afterwards this address may not sign in for five minutes."""
    site, _ = site
    wrong = {"username": "ghost", "password": "wrong-password"}
    mark = len(site.access_log.read_text().splitlines())
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: site.fail_sign_in(wrong), range(5)))
    assert statuses == [401] * 5
    time.sleep(0.3)
    if len(site.pids(mark, "/login")) < 2:
        pytest.skip("the five failed sign-ins all landed on one worker")
    # Five failures shared between two workers: each alone saw fewer than five.
    assert {site.fail_sign_in(wrong) for _ in range(4)} == {429}
