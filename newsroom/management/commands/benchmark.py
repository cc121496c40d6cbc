"""Load-test the site as it runs in production (gunicorn, production settings)
against a separate database of generated articles, with wrk.

For each page: requests per second, p50/p95/p99 latency, CPU milliseconds per
request in the web server and in PostgreSQL, SQL queries per request, and the
throughput as a share of a static file's, measured in the same run (this machine
is shared and noisy: the ratio is the comparable figure)."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from articles.models import Article, Author, Section, Tag

SEARCH_TERMS = [
    "kirghizistan",
    "kyrgyzstan",
    "tokaiev",
    "échanges commerciaux",
    "barrage rogun",
    "mer d'aral",
    "glaciers",
    "gaz chine",
    "samarcande tourisme",
    "migrants russie",
    "corridor transcaspien",
    "centrale nucléaire",
    "bichkek cinéma",
    "électricité pakistan",
    "coton",
    "eau irrigation",
    "tachkent réformes",
    "douchanbe",
    "frontière",
    "sécheresse",
]

WRK_SCRIPT = """
local paths = {}
local counter = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = math.random(#paths)
end
request = function()
  counter = counter + 1
  -- As browsers ask: gzip when the server has it (static files and cached pages do).
  return wrk.format("GET", paths[(counter % #paths) + 1], {["Accept-Encoding"] = "gzip, br"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, '
    .. '"p50": %d, "p95": %d, "p99": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


class Command(BaseCommand):
    help = "Mesure les performances du site (gunicorn + wrk) sur une base générée."

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=10_000)
        parser.add_argument(
            "--search-only", action="store_true", help="Ne mesure que la recherche."
        )
        parser.add_argument("--seconds", type=int, default=10)
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--port", type=int, default=8765)

    def handle(self, **options):
        if not shutil.which("wrk"):
            raise CommandError("wrk is missing: sudo apt-get install wrk (make bench does it).")
        if settings.DATABASES["default"]["NAME"] in ("newsroom", "postgres"):
            raise CommandError(
                "Refusing to fill the main database: set EMBEDDED_DATABASE_NAME or "
                "DATABASE_URL to a separate one (make bench does)."
            )
        self.options = options
        call_command("migrate", verbosity=0)
        self.stdout.write(f"Base « {settings.DATABASES['default']['NAME']} » :")
        call_command("generate_articles", options["articles"])
        # The archive as autovacuum keeps a live site's: statistics fresh and the
        # visibility map set, so that index-only scans (« À lire aussi ») read no
        # rows. Just after generating or migrating, autovacuum may not have come.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) articles_article")
        self.static_dir = Path(settings.COLLECTED_STATIC_ROOT)
        self.collect_static()
        with tempfile.TemporaryDirectory() as workdir:
            self.workdir = Path(workdir)
            (self.workdir / "script.lua").write_text(WRK_SCRIPT)
            # The same site twice: with the page cache (what anonymous readers
            # get) and without it (what a page costs to render).
            self.servers = {}
            started = [
                self.start_gunicorn("cached", options["port"]),
                self.start_gunicorn("uncached", options["port"] + 1, PAGE_CACHE_ENABLED="false"),
            ]
            try:
                if options["search_only"]:
                    self.report_search(options["articles"])
                else:
                    self.report_pages(options["articles"])
            finally:
                for server in started:
                    server.terminate()
                    server.wait(10)

    # Set-up ------------------------------------------------------------------------

    def production_environment(self):
        port = self.options["port"]
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "newsroom.settings.production",
            "DJANGO_SECRET_KEY": "benchmark-only-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": self.database_url(),
            "DATABASE_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
        }

    @staticmethod
    def database_url():
        from django.db import connection

        from newsroom.embedded_database import url_of

        connection.ensure_connection()
        return url_of(connection.settings_dict)

    def collect_static(self):
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            env=self.production_environment(),
            check=True,
            cwd=settings.BASE_DIR,
        )

    def start_gunicorn(self, name, port, **environment):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "newsroom.wsgi", "--workers", str(self.options["workers"])]
        command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        server = subprocess.Popen(
            command, env={**self.production_environment(), **environment}, cwd=settings.BASE_DIR
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=1)
                self.servers[name] = (psutil.Process(server.pid), port)
                return server
            except OSError:
                time.sleep(0.2)
        server.terminate()
        raise CommandError("gunicorn did not start")

    # Measuring ---------------------------------------------------------------------

    def cpu_seconds(self, server):
        """CPU seconds used so far, by process: (web server's, PostgreSQL's)."""
        process = self.servers[server][0]
        return (
            _cpu_by_pid([process, *process.children(recursive=True)]),
            _cpu_by_pid(self.database_processes()),
        )

    def database_processes(self):
        """The embedded server's backends connected to the benchmark's
        database: the web servers' connections. The server's own processes
        (checkpointer, WAL writer, autovacuum, which may be busy with another
        database: seen adding 0.07 ms to every request for the static file) are
        not the pages' work. None when DATABASE_URL points elsewhere: DB CPU then reads 0."""
        data_dir = str(settings.EMBEDDED_DATABASE_DIR)
        # A backend's title: "postgres: <user> <database> <client> <state>".
        database = f" {settings.DATABASES['default']['NAME']} "
        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = process.info["cmdline"] or []
            if process.info["name"] == "postgres" and data_dir in " ".join(cmdline):
                return [
                    child
                    for child in process.children(recursive=True)
                    if database in " ".join(_cmdline(child))
                ]
        return []

    def wrk(self, paths, seconds, connections=None, server="cached"):
        connections = connections or self.options["connections"]
        port = self.servers[server][1]
        paths_file = self.workdir / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        command = [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(self.workdir / "script.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(paths_file),
        ]
        web_before, db_before = self.cpu_seconds(server)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        web_after, db_after = self.cpu_seconds(server)
        result = json.loads(output.strip().splitlines()[-1])
        requests = max(1, result["requests"])
        result["rps"] = requests / (result["duration_us"] / 1e6)
        result["web_cpu_ms"] = _cpu_delta(web_before, web_after) * 1000 / requests
        result["db_cpu_ms"] = _cpu_delta(db_before, db_after) * 1000 / requests
        return result

    def fill_page_cache(self, paths):
        """Every page in every worker's cache: « cached » is the path a reader
        takes once someone has read the page since it last changed (without
        Redis each worker keeps its own pages, so each must have read it).
        Rounds of concurrent reads until one is all hits."""
        port = self.servers["cached"][1]

        def missed(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
                return response.headers["X-Page-Cache"] != "hit"

        with ThreadPoolExecutor(self.options["connections"]) as pool:
            for _ in range(30):
                asked = paths * 4
                outcomes = zip(asked, pool.map(missed, asked), strict=True)
                misses = [path for path, miss in outcomes if miss]
                if not misses:
                    return
        raise CommandError(f"the page cache does not keep these pages: {sorted(set(misses))[:5]}")

    def queries_per_request(self, path, cached):
        client = Client(HTTP_HOST="127.0.0.1")
        with self.settings(PAGE_CACHE_ENABLED=cached):
            client.get(path)
            client.get(path)
            with CaptureQueriesContext(connection) as context:
                client.get(path)
        return len(context.captured_queries)

    @staticmethod
    def settings(**values):
        from django.test import override_settings

        return override_settings(**values)

    def report_pages(self, total):
        rng = random.Random(1)
        published = Article.objects.published()
        slugs = list(published.order_by("?").values_list("slug", flat=True)[:500])
        largest = max(Section.objects.all(), key=lambda s: s.articles.count())
        manifest = json.loads((self.static_dir / "staticfiles.json").read_text())["paths"]

        def pages_of(owner):
            return [owner.get_absolute_url() + f"?page={n}" for n in range(1, 21)]

        pages = {
            "home": ["/"],
            "section": pages_of(largest),
            "article": [f"/article/{slug}/" for slug in slugs],
            "search": ["/recherche/?q=" + urllib.request.quote(term) for term in SEARCH_TERMS],
        }
        rng.shuffle(pages["article"])
        # Their pages render as the section's do: measured uncached only (§4 of
        # issue 8 holds them to the same CPU).
        uncached_only = {
            "author": pages_of(max(Author.objects.public(), key=lambda a: a.articles.count())),
            "tag": pages_of(max(Tag.objects.all(), key=lambda t: t.articles.count())),
        }
        # (name, paths, server)
        targets = [("static file", [f"/static/{manifest['css/site.css']}"], "cached")]
        for name, paths in pages.items():
            targets += [
                (f"{name} cached", paths, "cached"),
                (f"{name} uncached", paths, "uncached"),
            ]
        targets += [
            (f"{name} uncached", paths, "uncached") for name, paths in uncached_only.items()
        ]
        seconds = self.options["seconds"]
        self.stdout.write(
            f"\n{total} articles, gunicorn {self.options['workers']} workers, "
            f"wrk {self.options['connections']} connections, {seconds} s per page\n"
        )
        results = {}
        for name, paths, server in targets:
            if server == "cached" and name != "static file":
                self.fill_page_cache(paths)
            self.wrk(paths, 2, server=server)  # warm-up
            results[name] = self.wrk(paths, seconds, server=server)
            alone = self.wrk(paths, seconds, connections=1, server=server)
            queries = 0
            if name != "static file":
                queries = self.queries_per_request(paths[0], cached=server == "cached")
            results[name].update(
                {f"alone_{key}": value for key, value in alone.items()}, queries=queries
            )
        static_rps = results["static file"]["rps"]
        header = (
            f"{'page':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs static':>9} | "
            f"{'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'web CPU ms':>10} {'DB CPU ms':>9} "
            f"{'SQL':>4} {'errors':>6}"
        )
        self.stdout.write(
            f"{'':<16} {'— ' + str(self.options['connections']) + ' connections —':^34} | "
            f"{'— 1 connection —':^46}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for name, r in results.items():
            errors = r["errors"] + r["non2xx"] + r["alone_errors"] + r["alone_non2xx"]
            self.stdout.write(
                f"{name:<16} {r['rps']:>7.0f} {r['p50'] / 1000:>7.1f} {r['p99'] / 1000:>7.1f} "
                f"{r['rps'] / static_rps:>9.3f} | {r['alone_rps']:>6.0f} "
                f"{r['alone_p50'] / 1000:>7.1f} {r['alone_p95'] / 1000:>7.1f} "
                f"{r['alone_web_cpu_ms']:>10.2f} {r['alone_db_cpu_ms']:>9.2f} "
                f"{r['queries']:>4} {errors:>6}"
            )

    def report_search(self, total):
        """Search, uncached: the page cache off, every query rendered."""
        paths = ["/recherche/?q=" + urllib.request.quote(term) for term in SEARCH_TERMS]
        self.wrk(paths, 2, server="uncached")
        result = self.wrk(paths, self.options["seconds"], server="uncached")
        connections = self.options["connections"]
        single = self.wrk(paths, self.options["seconds"], connections=1, server="uncached")
        client = Client(HTTP_HOST="127.0.0.1")
        timings = []
        with self.settings(PAGE_CACHE_ENABLED=False):
            for term in SEARCH_TERMS:
                started = time.perf_counter()
                client.get("/recherche/", {"q": term})
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        self.stdout.write(
            f"\nSearch with {total} articles ({len(SEARCH_TERMS)} queries in rotation):\n"
            f"  {connections} connections: {result['rps']:.0f} req/s, "
            f"p50 {result['p50'] / 1000:.1f} ms, p95 {result['p95'] / 1000:.1f} ms, "
            f"p99 {result['p99'] / 1000:.1f} ms, web CPU {result['web_cpu_ms']:.2f} ms and "
            f"DB CPU {result['db_cpu_ms']:.2f} ms per request, "
            f"errors {result['errors'] + result['non2xx']}.\n"
            f"  1 connection: {single['rps']:.0f} req/s, p50 {single['p50'] / 1000:.1f} ms, "
            f"p95 {single['p95'] / 1000:.1f} ms, p99 {single['p99'] / 1000:.1f} ms."
        )
        self.stdout.write(
            f"One query at a time (no load): median {timings[len(timings) // 2]:.1f} ms, "
            f"slowest {timings[-1]:.1f} ms."
        )


def _cmdline(process):
    try:
        return process.cmdline()
    except psutil.Error:  # ended, or not ours to read
        return []


def _cpu_by_pid(processes):
    totals = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        totals[process.pid] = times.user + times.system
    return totals


def _cpu_delta(before, after):
    # Processes that start during the run count from zero; those that end (such
    # as autovacuum workers) are left out rather than counted negative.
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
