"""Caches in front of the site: tags on every public page, and purges that the
worker sends when content changes, tested with Debian's Varnish running
deploy/varnish.vcl in front of the app (newsroom.frontcache)."""

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from articles.models import Article
from newsroom.embedded_database import url_of
from newsroom.frontcache import purge
from tests.conftest import free_port, wait_for_http
from tests.factories import make_article, make_user

pytestmark = pytest.mark.django_db
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def test_public_pages_carry_their_cache_tags(client):
    """Cache-Tag and Surrogate-Key name the site, the kind of page and the
    object shown; staff pages carry none."""
    article = make_article(slug="le-barrage")
    page = client.get(article.get_absolute_url())
    assert page["Cache-Tag"] == "site,article:le-barrage"
    assert page["Surrogate-Key"] == "site article:le-barrage"
    assert client.get("/")["Cache-Tag"] == "site,home"
    assert client.get("/feed/")["Cache-Tag"] == "site,feeds"
    section = client.get(article.section.get_absolute_url())
    assert section["Cache-Tag"] == f"site,section:{article.section.slug}"
    assert client.get("/newsletter/")["Cache-Tag"] == "site,newsletter"
    client.force_login(make_user(superuser=True))
    assert "Cache-Tag" not in client.get(article.get_absolute_url())


class _Recorder(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Authorization"], json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"success": true}')

    def log_message(self, *args):
        pass


def test_with_a_cloudflare_token_the_purge_goes_to_its_api(settings):
    """The purge by tag is a POST to the zone's purge_cache with the token."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.FRONT_CACHE_URLS = []
    settings.CLOUDFLARE_API_TOKEN = "jeton-secret"
    settings.CLOUDFLARE_ZONE_ID = "zone42"
    settings.CLOUDFLARE_API_URL = f"http://127.0.0.1:{server.server_port}/client/v4"
    try:
        assert purge(["site"]) == 1
    finally:
        server.shutdown()
    assert _Recorder.received == [
        ("/client/v4/zones/zone42/purge_cache", "Bearer jeton-secret", {"tags": ["site"]})
    ]


def test_a_front_cache_that_is_down_does_not_break_anything(settings):
    """A purge nobody answers is logged and counted as refused."""
    settings.FRONT_CACHE_URLS = [f"http://127.0.0.1:{free_port()}/"]
    settings.FRONT_CACHE_TIMEOUT = 1
    assert purge(["site"]) == 0


def _read(port, path, cookie=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if cookie:
        request.add_header("Cookie", cookie)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("X-Varnish-Cache"), response.read().decode()


@pytest.fixture
def varnish_in_front(tmp_path):
    """The app (runserver, this test database), Varnish with deploy/varnish.vcl
    in front of it, and a worker purging Varnish; yields Varnish's port."""
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not os.path.exists(varnishd):
        if IN_CI:
            pytest.fail("varnishd is missing: .ci/run installs Debian's varnish")
        pytest.skip("varnishd is missing (apt-get install varnish)")
    connection.ensure_connection()
    app_port, varnish_port = free_port(), free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.development",
        "DATABASE_URL": url_of(connection.settings_dict),
        "SITE_URL": f"http://127.0.0.1:{varnish_port}",
        "FRONT_CACHE_URLS": f"http://127.0.0.1:{varnish_port}/",
        "FRONT_CACHE_POLL_SECONDS": "0.2",
    }
    vcl = (settings.BASE_DIR / "deploy/varnish.vcl").read_text()
    assert '.port = "8000";' in vcl
    (tmp_path / "newsroom.vcl").write_text(
        vcl.replace('.port = "8000";', f'.port = "{app_port}";')
    )
    processes = []

    def start(command):
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    try:
        app = start(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{app_port}"]
        )
        wait_for_http(f"http://127.0.0.1:{app_port}/robots.txt", app)
        cache = start(
            [
                varnishd,
                "-F",
                "-j",
                "none",
                "-n",
                str(tmp_path / "varnish"),
                "-a",
                f"127.0.0.1:{varnish_port}",
                "-f",
                str(tmp_path / "newsroom.vcl"),
                "-s",
                "malloc,32m",
            ]
        )
        wait_for_http(f"http://127.0.0.1:{varnish_port}/robots.txt", cache)
        start([sys.executable, "manage.py", "worker", "--no-reload"])
        yield varnish_port
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def _settled(port, path, seconds=10):
    """What Varnish serves from its cache for ``path`` once no purge is under
    way: a read, then reads half a second apart (more than two of the worker's
    looks at the clock) until one is a hit."""
    deadline = time.monotonic() + seconds
    _read(port, path)
    while True:
        time.sleep(0.5)
        outcome, content = _read(port, path)
        if outcome == "hit":
            return content
        assert time.monotonic() < deadline, f"Varnish never kept {path}"


def _until_shown(port, path, text, seconds=10):
    """Seconds until ``text`` shows on ``path`` through Varnish."""
    started = time.monotonic()
    while text not in _read(port, path)[1]:
        assert time.monotonic() - started < seconds, f"Varnish kept the old {path}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_through_varnish_hits_are_served_and_changes_show_at_once(varnish_in_front):
    """Varnish serves repeated reads itself; an edit and a publication made in
    the app reach readers through Varnish as soon as the worker has purged it
    (it looks at the content clock five times a second)."""
    port = varnish_in_front
    article = make_article(title="Titre d’origine", slug="par-varnish")
    draft = make_article(title="Brouillon à publier", slug="a-publier", published=False)
    assert "Titre d’origine" in _settled(port, article.get_absolute_url())
    assert "Brouillon à publier" not in _settled(port, "/")

    Article.objects.filter(pk=article.pk).update(title="Titre corrigé")
    delay = _until_shown(port, article.get_absolute_url(), "Titre corrigé")
    assert delay < 2, f"the purge took {delay:.2f} s"
    draft.status = Article.Status.PUBLISHED
    draft.save()
    assert _until_shown(port, "/", "Brouillon à publier") < 2
    assert "Titre corrigé" in _settled(port, article.get_absolute_url())
    # Staff always reach the app.
    assert _read(port, "/", cookie="sessionid=abc")[0] == "miss"
    assert _read(port, "/", cookie="sessionid=abc")[0] == "miss"
