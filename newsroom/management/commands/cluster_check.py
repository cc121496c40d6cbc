"""Newsroom as several machines would run it, all on loopback, under load and
under failures (``make cluster-check``).

It starts PostgreSQL (the embedded server, or DATABASE_URL), Redis (REDIS_URL,
the machine's on 127.0.0.1:6379, or a redis-server of its own), an S3 API
(moto's server), an SMTP sink, two gunicorn app servers behind nginx
(deploy/nginx.conf.template) and two task workers, all with production settings.
For about a minute, readers and signups go through nginx while it:
- kills one app server (SIGKILL, every process of it) and restarts it;
- kills the worker sending a newsletter issue to 2,000 subscribers (SIGKILL)
  and restarts it;
- edits and publishes an article through one app server and reads it at once
  through the other.
It prints one summary line and fails when a target is missed."""

import asyncio
import contextlib
import html.parser
import http.client
import http.cookiejar
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from articles.models import Article, Section
from newsletter.models import (
    Delivery,
    Issue,
    IssueArticle,
    SignupRequest,
    Subscriber,
    Subscription,
)
from newsroom.settings.media_storage import public_read_policy

BUCKET = "newsroom-cluster-media"
EDITOR = ("cluster-editor", "Cluster-check-2026!")
SIGNUP_DOMAIN = "signup.cluster.example.org"
SUBSCRIBER_DOMAIN = "reader.cluster.example.org"
ISSUE_SUBJECT = "Cluster check: the week in Central Asia"
BATCH_SIZE = 50


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, process, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"{url} did not come up") from None
            time.sleep(0.2)


class _Form(html.parser.HTMLParser):
    """The fields of the first form whose attributes include ``match`` (or of the
    first form), as a browser would submit them, without buttons and files."""

    def __init__(self, match=None):
        super().__init__()
        self.match, self.inside, self.done = match or {}, False, False
        self.fields, self.select, self.textarea = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done and self.match.items() <= attrs.items():
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields.append((self.select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append(tuple(self.textarea))
            self.textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_fields(page, **match):
    parser = _Form(match)
    parser.feed(page)
    return parser.fields


class Browser:
    """A cookie-keeping HTTP client for one origin, that does not follow redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, origin):
        self.origin = origin
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect
        )

    def request(self, path, data=None, headers=None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.origin + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers


class SMTPSink:
    """An SMTP server (aiosmtpd) that keeps, per message, its subject and recipients."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                message = message_from_bytes(envelope.content, policy=policy.default)
                with sink.lock:
                    sink.messages.append((str(message["Subject"]), tuple(envelope.rcpt_tos)))
                await asyncio.sleep(0)
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def recipients(self, subject):
        with self.lock:
            return [r for s, rcpts in self.messages if s == subject for r in rcpts]

    def stop(self):
        self.controller.stop()


class Command(BaseCommand):
    help = "Start a small cluster on loopback, load it, break it, and report (make cluster-check)."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=int, default=60)
        parser.add_argument("--subscribers", type=int, default=2000)
        parser.add_argument("--readers", type=int, default=6)

    def handle(self, **options):
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd
        if "cluster" not in settings.DATABASES["default"]["NAME"]:
            raise CommandError(
                "Refusing to empty a database whose name does not say « cluster »: "
                "run make cluster-check (EMBEDDED_DATABASE_NAME=newsroom_cluster)."
            )
        self.nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(self.nginx).exists():
            raise CommandError("nginx is missing: sudo apt-get install nginx")
        self.options = options
        self.processes = {}
        self.stop = threading.Event()
        self.work = Path(tempfile.mkdtemp(prefix="newsroom-cluster-"))
        passed = False
        try:
            self.run()
            passed = True
        finally:
            self.stop.set()
            for name in list(self.processes):
                self.terminate(name)
            if getattr(self, "smtp", None):
                self.smtp.stop()
            if passed:
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                self.stderr.write(f"Logs of every process kept in {self.work}")

    # The parts ---------------------------------------------------------------------

    def run(self):
        from newsroom.embedded_database import url_of

        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        connection.ensure_connection()
        self.database_url = os.environ.get("DATABASE_URL") or url_of(connection.settings_dict)
        self.redis_url = self.start_redis()
        self.s3_endpoint = self.start_s3()
        self.smtp = SMTPSink()
        self.nginx_port = free_port()
        self.site = f"http://127.0.0.1:{self.nginx_port}"
        self.stdout.write("Content (images to the bucket), 2,000 subscribers…")
        for command in (["generate_articles", "300"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                env=self.environment(),
                cwd=settings.BASE_DIR,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        self.prepare_content()
        self.app_ports = [free_port(), free_port()]
        for index in range(2):
            self.start_app(index)
            self.start_worker(index)
        self.start_nginx()
        self.stdout.write(f"Cluster up: nginx on {self.site}, app servers on {self.app_ports}.")
        self.load_and_break()
        self.report()

    def environment(self):
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "newsroom.settings.production",
            "DJANGO_SECRET_KEY": "cluster-check-only-" + "k" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.site,
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": self.redis_url,
            "MEDIA_STORAGE_URL": (
                f"s3://{BUCKET}?endpoint={self.s3_endpoint}&region=us-east-1"
                f"&public_url={self.s3_endpoint}/{BUCKET}"
            ),
            "AWS_ACCESS_KEY_ID": "cluster",
            "AWS_SECRET_ACCESS_KEY": "cluster-secret",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "NEWSLETTER_RATE_PER_SECOND": "60",
            "NEWSLETTER_BATCH_SIZE": str(BATCH_SIZE),
            "NEWSLETTER_MIN_FILL_SECONDS": "0.5",
            # Every simulated reader comes from 127.0.0.1.
            "NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR": "1000000",
            "NUMBER_OF_PROXIES": "1",
            "LOG_LEVEL": "ERROR",
        }

    def prepare_content(self):
        get_user_model().objects.create_superuser(EDITOR[0], "editor@example.org", EDITOR[1])
        section = Section.objects.order_by("pk").first()
        self.draft = Article.objects.create(
            title="Brouillon du test de grappe",
            slug="brouillon-grappe",
            section=section,
            standfirst="Un article à publier pendant le test.",
            body="<p>Version 0.</p>",
        )
        self.draft.authors.set([Article.objects.published().first().authors.first()])
        readers = Subscriber.objects.bulk_create(
            Subscriber(email=f"reader{n}@{SUBSCRIBER_DOMAIN}", status=Subscriber.Status.CONFIRMED)
            for n in range(self.options["subscribers"])
        )
        self.issue = Issue.objects.create(subject=ISSUE_SUBJECT, introduction="Bonjour.")
        Subscription.objects.bulk_create(
            Subscription(
                subscriber=reader,
                newsletter_id=self.issue.newsletter_id,
                status=Subscription.Status.ACTIVE,
            )
            for reader in readers
        )
        IssueArticle.objects.create(issue=self.issue, article=Article.objects.published().first())
        published = Article.objects.published()
        self.paths = ["/", "/recherche/?q=kirghizistan", "/newsletter/", "/feed/"]
        self.paths += [a.get_absolute_url() for a in published.order_by("?")[:60]]
        self.paths += [s.get_absolute_url() for s in Section.objects.all()]

    def start_redis(self):
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
            return "redis://127.0.0.1:6379/13"
        except OSError:
            pass
        if not shutil.which("redis-server"):
            raise CommandError("No Redis: set REDIS_URL, or install redis-server.")
        port = free_port()
        self.spawn(
            "redis", ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
        )
        time.sleep(0.5)
        return f"redis://127.0.0.1:{port}/0"

    def start_s3(self):
        import boto3

        port = free_port()
        moto = Path(sys.executable).with_name("moto_server")
        process = self.spawn("s3", [str(moto), "-H", "127.0.0.1", "-p", str(port)])
        endpoint = f"http://127.0.0.1:{port}"
        wait_for(f"{endpoint}/moto-api/", process)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="cluster",
            aws_secret_access_key="cluster-secret",
        )
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_policy(Bucket=BUCKET, Policy=public_read_policy(BUCKET))
        return endpoint

    def start_app(self, index):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        port = self.app_ports[index]
        process = self.spawn(
            f"app{index}",
            [
                str(gunicorn),
                "newsroom.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "error",
                "--graceful-timeout",
                "5",
            ],
        )
        wait_for(f"http://127.0.0.1:{port}/robots.txt", process)

    def start_worker(self, index):
        # Named, so that the one holding the sending lock can be found.
        separator = "&" if "?" in self.database_url else "?"
        url = f"{self.database_url}{separator}application_name=cluster-worker{index}"
        self.spawn(
            f"worker{index}",
            [sys.executable, "manage.py", "worker", "--no-reload"],
            DATABASE_URL=url,
        )

    def start_nginx(self):
        config = (settings.BASE_DIR / "deploy/nginx.conf.template").read_text()
        temp = self.work / "nginx"
        temp.mkdir()
        main = [f"pid {temp}/nginx.pid;", f"error_log {temp}/error.log warn;", "daemon off;"]
        if os.geteuid() == 0:
            main.append("user root;")  # its workers read the temporary files made here
        http_directives = [
            "access_log off;",
            "default_type application/octet-stream;",
            *(
                f"{kind}_temp_path {temp}/{kind};"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
        ]
        servers = [
            f"server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in self.app_ports
        ]
        values = {
            "main_directives": "\n".join(main),
            "http_directives": "\n    ".join(http_directives),
            "app_servers": "\n        ".join(servers),
            "listen": f"127.0.0.1:{self.nginx_port}",
            "static_root": str(settings.COLLECTED_STATIC_ROOT),
        }
        config = re.sub(r"@(\w+)@", lambda match: values[match.group(1)], config)
        (temp / "nginx.conf").write_text(config)
        process = self.spawn(
            "nginx", [self.nginx, "-p", str(temp), "-c", str(temp / "nginx.conf")]
        )
        wait_for(f"{self.site}/robots.txt", process)

    def spawn(self, name, command, **environment):
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        base = self.environment() if hasattr(self, "smtp") else os.environ
        process = subprocess.Popen(
            command,
            env={**base, **environment},
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.processes[name] = process
        return process

    def kill(self, name):
        """SIGKILL to every process of ``name``, as when its machine dies."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.log.close()

    def terminate(self, name):
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.log.close()

    # Load and failures -------------------------------------------------------------

    def load_and_break(self):
        self.reads = {"requests": 0, "failed": 0}
        self.signups = {"accepted": 0, "refused": 0}
        self.edits = {"edits": 0, "stale": 0}
        self.lock = threading.Lock()
        threads = [
            threading.Thread(target=self.reader, args=(n,), daemon=True)
            for n in range(self.options["readers"])
        ]
        threads += [
            threading.Thread(target=self.signer, daemon=True),
            threading.Thread(target=self.editor, daemon=True),
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        seconds = self.options["seconds"]

        def at(fraction):
            while time.monotonic() - started < seconds * fraction:
                time.sleep(0.1)

        at(0.1)
        self.stdout.write("Queueing the issue for 2,000 subscribers…")
        self.expected = set(
            Subscriber.objects.recipients_of(self.issue.newsletter_id).values_list(
                "email", flat=True
            )
        )
        self.issue.queue()
        self.kill_the_sending_worker()
        at(0.45)
        self.stdout.write("SIGKILL to app server 0 (restarted 3 s later)…")
        self.kill("app0")
        time.sleep(3)
        self.start_app(0)
        at(1)
        self.stop.set()
        for thread in threads:
            thread.join(60)
        self.stdout.write("Load stopped; waiting for the workers to finish…")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            waiting = self.issue.progress()["waiting"]
            if not waiting and not SignupRequest.objects.exists():
                break
            time.sleep(1)

    def kill_the_sending_worker(self):
        deadline = time.monotonic() + 60
        while len(self.smtp.recipients(ISSUE_SUBJECT)) < self.options["subscribers"] // 4:
            if time.monotonic() > deadline:
                raise CommandError("the newsletter did not start sending")
            time.sleep(0.05)
        name = self.sending_worker()
        sent = len(self.smtp.recipients(ISSUE_SUBJECT))
        self.stdout.write(f"SIGKILL to the sending worker ({name}) after {sent} messages…")
        self.kill(name)
        self.start_worker(int(name[-1]))

    def sending_worker(self):
        """The worker whose database connection holds the issue's sending lock."""
        from newsletter.sending import SENDER_LOCK_NAMESPACE

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.classid = %s AND l.objid = %s AND l.granted",
                    [SENDER_LOCK_NAMESPACE, self.issue.pk],
                )
                row = cursor.fetchone()
            if row and row[0].startswith("cluster-worker"):
                return row[0].removeprefix("cluster-")
            time.sleep(0.05)
        raise CommandError("no worker holds the sending lock")

    def reader(self, number):
        rng = random.Random(number)
        host, port = "127.0.0.1", self.nginx_port
        client = http.client.HTTPConnection(host, port, timeout=30)
        while not self.stop.is_set():
            path = rng.choice(self.paths)
            try:
                client.request("GET", path)
                response = client.getresponse()
                response.read()
                status = response.status
                ok = status == 200
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
                client.close()
                client = http.client.HTTPConnection(host, port, timeout=30)
                ok = False
            with self.lock:
                self.reads["requests"] += 1
                self.reads["failed"] += not ok
            if not ok:
                self.stdout.write(f"  failed read: {path} {status}")

    def signer(self):
        browser = Browser(self.site)
        number = 0
        while not self.stop.is_set():
            status, page, _ = browser.request("/newsletter/")
            fields = dict(form_fields(page, action="/newsletter/")) if status == 200 else None
            if not fields:
                with self.lock:
                    self.signups["refused"] += 1
                continue
            time.sleep(0.6)
            number += 1
            fields["email"] = f"signup{number}@{SIGNUP_DOMAIN}"
            status, _, headers = browser.request(
                "/newsletter/", fields, {"Sec-Fetch-Site": "same-origin", "Origin": self.site}
            )
            accepted = status == 302 and headers.get("Location", "").endswith("/merci/")
            with self.lock:
                self.signups["accepted" if accepted else "refused"] += 1

    def editor(self):
        """Publishes the draft, then edits it, through app server 1; after each
        save, reads the article through app server 0 (when it is up)."""
        staleness = []
        number = 0
        while not self.stop.is_set():
            number += 1
            with contextlib.suppress(OSError):
                self.edit_once(number, staleness)
            self.stop.wait(2)
        self.edits["max_stale_seconds"] = max(staleness, default=0)

    def edit_once(self, number, staleness):
        editor = Browser(f"http://127.0.0.1:{self.app_ports[1]}")
        status, page, _ = editor.request("/admin/login/?next=/admin/")
        token = dict(form_fields(page))["csrfmiddlewaretoken"]
        status, _, _ = editor.request(
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": token, "username": EDITOR[0], "password": EDITOR[1]},
        )
        change = f"/admin/articles/article/{self.draft.pk}/change/"
        status, page, _ = editor.request(change)
        title = f"Grappe, édition {number}"
        # The first save publishes the draft (now); later ones edit its title.
        changes = {"title": title, "status": Article.Status.PUBLISHED}
        fields = [(k, changes.get(k, v)) for k, v in form_fields(page, id="article_form")]
        status, page, _ = editor.request(change, [*fields, ("_continue", "1")])
        if status != 302:
            raise CommandError(f"the edit through app server 1 failed ({status}): {page[:2000]}")
        saved = time.monotonic()
        with self.lock:
            self.edits["edits"] += 1
        url = Article.objects.get(pk=self.draft.pk).get_absolute_url()
        reader = Browser(f"http://127.0.0.1:{self.app_ports[0]}")
        try:
            status, page, _ = reader.request(url)
        except OSError:
            return  # app server 0 is down (killed on purpose): nothing to compare
        if title not in page:
            with self.lock:
                self.edits["stale"] += 1
            while title not in reader.request(url)[1] and time.monotonic() - saved < 30:
                time.sleep(0.05)
            staleness.append(time.monotonic() - saved)

    # The verdict -------------------------------------------------------------------

    def media_from_the_bucket(self):
        """Whether an article page, read through nginx, shows an image that the
        bucket serves."""
        article = Article.objects.published().exclude(hero_image="").first()
        _, page, _ = Browser(self.site).request(article.get_absolute_url())
        found = re.search(rf'src="({re.escape(self.s3_endpoint)}/[^"]+)"', page)
        if not found:
            return "missing from the page"
        try:
            with urllib.request.urlopen(found.group(1), timeout=10) as response:
                return (
                    "ok"
                    if response.headers["Content-Type"].startswith("image/")
                    else "not an image"
                )
        except OSError as error:
            return f"unreadable ({error})"

    def report(self):
        received = self.smtp.recipients(ISSUE_SUBJECT)
        duplicates = len(received) - len(set(received))
        uncertain = Delivery.objects.filter(
            issue=self.issue, status=Delivery.Status.UNCERTAIN
        ).count()
        rows = Subscriber.objects.filter(email__endswith=f"@{SIGNUP_DOMAIN}").count()
        progress = self.issue.progress()
        media = self.media_from_the_bucket()
        line = (
            f"cluster-check: reader requests {self.reads['requests']}, "
            f"failed {self.reads['failed']}; signups accepted {self.signups['accepted']}, "
            f"subscriber rows {rows}; newsletter sent {len(set(received))}/{len(self.expected)}, "
            f"duplicates {duplicates}, uncertain {uncertain} (batch {BATCH_SIZE}), "
            f"waiting {progress['waiting']}; edits {self.edits['edits']}, stale reads across "
            f"servers {self.edits['stale']}; images from the bucket {media}"
        )
        self.stdout.write(line)
        extra = set(received) - self.expected
        if extra:
            self.stdout.write(f"  unexpected recipients: {sorted(extra)[:10]}")
        problems = []
        if self.reads["failed"]:
            problems.append("failed reader requests")
        if self.signups["accepted"] != rows or not rows:
            problems.append("signups accepted differ from subscriber rows")
        sent_to = set(received)
        if (
            duplicates
            or progress["waiting"]
            or extra
            or len(sent_to) + uncertain != len(self.expected)
        ):
            problems.append("the newsletter was not sent exactly once to everyone")
        if uncertain > BATCH_SIZE:
            problems.append("too many uncertain messages")
        if self.edits["stale"] or not self.edits["edits"]:
            problems.append("stale reads across servers")
        if media != "ok":
            problems.append("pages do not show images from the bucket")
        if problems:
            raise CommandError("cluster-check failed: " + "; ".join(problems))
