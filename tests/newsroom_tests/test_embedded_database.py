"""The embedded PostgreSQL: started by the first connection only, shared by the
processes that use it, stopped by the last, and never left unable to start
again, whatever moment a process is killed at."""

import os
import random
import signal
import subprocess
import sys
import time

import psutil
import pytest
from django.conf import settings

ROOT = settings.BASE_DIR

# A process using the server of the data directory given as argv[1]: it starts or
# joins it, then writes rows until it is stopped, printing "ready" once connected.
USER_SCRIPT = """
import sys, time
import psycopg2
from newsroom.embedded_database import connection_settings

params = connection_settings(sys.argv[1], "crashtest")
connection = psycopg2.connect(host=params["HOST"], user=params["USER"], dbname="crashtest")
connection.autocommit = True
cursor = connection.cursor()
cursor.execute("CREATE TABLE IF NOT EXISTS beats (at timestamptz DEFAULT now())")
print("ready", flush=True)
if len(sys.argv) > 2:
    cursor.execute("SELECT count(*) FROM beats")
    print("rows", cursor.fetchone()[0], flush=True)
    sys.exit(0)
while True:
    cursor.execute("INSERT INTO beats DEFAULT VALUES")
    time.sleep(0.01)
"""


def environment(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def start_user(data_dir, *args):
    return subprocess.Popen(
        [sys.executable, "-c", USER_SCRIPT, str(data_dir), *args],
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def server_processes(data_dir):
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        with_dir = str(data_dir) in " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and with_dir:
            found.append(process)
    return found


def wait_until_stopped(data_dir, seconds=30):
    deadline = time.monotonic() + seconds
    while server_processes(data_dir):
        assert time.monotonic() < deadline, "the embedded server did not stop"
        time.sleep(0.2)


def run_to_the_end(data_dir):
    """A clean user: starts or joins, counts the rows, exits; returns its output."""
    finished = start_user(data_dir, "count")
    output, errors = finished.communicate(timeout=120)
    assert finished.returncode == 0, errors
    assert "Traceback" not in errors
    return output


def test_killed_at_random_moments_the_next_start_always_works(tmp_path):
    """SIGKILL at random points (during initdb, server start-up, while writing):
    each next start works with no manual step, and the last clean user stops the
    server. Also after the PID list was left empty by a killed writer."""
    data_dir = tmp_path / "pgdata"
    chance = random.Random(20261202)
    for attempt in range(12):
        user = start_user(data_dir)
        time.sleep(chance.uniform(0, 2.5) if attempt else 0.3)  # the first: mid-initdb
        user.send_signal(signal.SIGKILL)
        user.wait(10)
        if attempt == 5:
            (data_dir / ".handle_pids.json").write_text("")  # as a killed writer leaves it
        assert run_to_the_end(data_dir).startswith("ready")
    wait_until_stopped(data_dir)
    assert "rows" in run_to_the_end(data_dir)
    wait_until_stopped(data_dir)


def test_a_server_killed_with_its_users_starts_again_at_once(tmp_path):
    """``kill -9`` on the users and on the server itself, and a new start at
    once: the killed server's PID lingers as a zombie for a moment, which used
    to read as a running server (the start joined it: connection refused). And
    after a reboot the lock file's PID may be another program's."""
    data_dir = tmp_path / "pgdata"
    user = start_user(data_dir)
    assert user.stdout.readline().strip() == "ready"
    lock_text = (data_dir / "postmaster.pid").read_text()
    postmaster = int(lock_text.split("\n", 1)[0])
    user.send_signal(signal.SIGKILL)
    os.kill(postmaster, signal.SIGKILL)
    user.wait(10)
    assert run_to_the_end(data_dir).startswith("ready")
    wait_until_stopped(data_dir)

    # A stale lock file whose PID runs another program (here, a sleep).
    other = subprocess.Popen(["sleep", "60"])
    try:
        rest = lock_text.split("\n", 1)[1]
        (data_dir / "postmaster.pid").write_text(f"{other.pid}\n{rest}")
        assert "rows" in run_to_the_end(data_dir)
    finally:
        other.kill()
        other.wait()
    wait_until_stopped(data_dir)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_the_server_with_its_last_user(tmp_path, signum):
    """Two users share one server; stopping the first leaves it running for the
    second, stopping the second stops it."""
    data_dir = tmp_path / "pgdata"
    first, second = start_user(data_dir), None
    try:
        assert first.stdout.readline().strip() == "ready"
        second = start_user(data_dir)
        assert second.stdout.readline().strip() == "ready"
        first.send_signal(signum)
        first.wait(20)
        assert server_processes(data_dir), "stopped while another process used it"
        second.send_signal(signum)
        second.wait(20)
        wait_until_stopped(data_dir)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()


def test_importing_settings_starts_nothing(tmp_path):
    """`check` and `collectstatic` run without any database: with DATABASE_URL set
    to a server that does not answer, and with the embedded one not started."""
    unreachable = environment(
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        DJANGO_SETTINGS_MODULE="newsroom.settings.development",
    )
    for command in (["check"], ["collectstatic", "--noinput", "--dry-run"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=unreachable,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

    var_dir = tmp_path / "var"
    embedded = environment(NEWSROOM_VAR_DIR=str(var_dir))
    embedded.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=embedded,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not (var_dir / "pgdata").exists()


def test_production_refuses_to_start_without_database_url():
    """Production never falls back to a private embedded server."""
    from tests.newsroom_tests.test_site import STRONG_KEY

    environment_ = {
        "PATH": os.environ["PATH"],
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import newsroom.settings.production"],
        cwd=ROOT,
        env=environment_,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr


def test_port_changes_the_links_unless_site_url_is_set():
    """`PORT=8080 make run` writes links to port 8080; SITE_URL wins when set."""
    script = (
        "from django.conf import settings; print(settings.SITE_URL, settings.CSRF_TRUSTED_ORIGINS)"
    )
    base = environment(DJANGO_SETTINGS_MODULE="newsroom.settings.development")
    base.pop("SITE_URL", None)

    def site_url(**extra):
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            cwd=ROOT,
            env={**base, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert site_url(PORT="8080") == "http://127.0.0.1:8080 ['http://127.0.0.1:8080']"
    assert site_url() == "http://127.0.0.1:8000 ['http://127.0.0.1:8000']"
    assert site_url(PORT="8080", SITE_URL="https://www.example.org/").startswith(
        "https://www.example.org "
    )
