"""The embedded PostgreSQL server used when ``DATABASE_URL`` is not set.

pgserver ships a PostgreSQL build inside a wheel. Every process that uses the same
data directory (web server, worker, tests) shares one server, which stops when the
last of them exits.
"""

import contextlib
import json
import warnings
from pathlib import Path

import psutil


def _forget_dead_processes(data_dir: Path) -> None:
    # pgserver keeps the PIDs of the processes using the server and stops it when
    # the last one exits. A process killed with SIGKILL never removes itself, which
    # would keep the server alive forever: drop PIDs that no longer run.
    pid_file = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        pid_file.write_text(json.dumps(alive))


def _ensure_database(server, name: str) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(server.get_uri())
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


def database_url(data_dir: Path, name: str) -> str:
    """Start (or join) the embedded server and return a URL for database ``name``."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI) and then
        # falls back to /tmp, which suits the server's socket.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
        from pgserver.postgres_server import PostgresServer

    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if data_dir.exists():
        with PostgresServer._lock:
            _forget_dead_processes(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    _ensure_database(server, name)
    return server.get_uri(database=name)
