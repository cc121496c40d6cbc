import os
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.core.cache import caches
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests (Hypothesis). CI runs a fixed, derandomised set of examples so
# that its time and its verdict are the same on every run; on a developer's
# machine every run tries new examples (and replays failures it found, from
# .hypothesis/). HYPOTHESIS_PROFILE=thorough tries many more.
_PROPERTY_DEFAULTS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
hypothesis_settings.register_profile(
    "ci", max_examples=25, derandomize=True, database=None, **_PROPERTY_DEFAULTS
)
hypothesis_settings.register_profile("dev", max_examples=25, **_PROPERTY_DEFAULTS)
hypothesis_settings.register_profile("thorough", max_examples=500, **_PROPERTY_DEFAULTS)
_IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _IN_CI else "dev"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url, process, seconds=30):
    """Wait until ``url`` answers (any status); fail if ``process`` dies first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            assert process.poll() is None, f"{process.args[0]} exited before {url} answered"
            assert time.monotonic() < deadline, f"{url} did not answer in {seconds} s"
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def _empty_cache():
    from articles.views import _lexemes_of
    from newsroom.pagecache import forget_clock_cached

    for alias in settings.CACHES:
        caches[alias].clear()
    _lexemes_of.cache_clear()  # each worker's memory of the stemmer's answers
    forget_clock_cached()
    yield
    for alias in settings.CACHES:
        caches[alias].clear()
    forget_clock_cached()


@pytest.fixture(scope="session", autouse=True)
def _temporary_media_root():
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


class SMTPSink(list):
    """What the test SMTP server received (envelopes), and how it behaves:
    ``refuse`` holds recipients it answers « no such mailbox » (550 5.1.1),
    ``refuse_for_now`` those it greylists (450 4.7.1), ``refuse_relay`` those
    it will not relay (554 5.7.1); each answer quotes the address, as Postfix
    does. ``delay``: seconds per message."""

    def __init__(self):
        super().__init__()
        self.refuse = set()
        self.refuse_for_now = set()
        self.refuse_relay = set()
        self.delay = 0.0
        self.port = None


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) in this process; Django sends to it over TCP.
    Yields the list of received envelopes."""
    import asyncio

    from aiosmtpd.controller import Controller

    sink = SMTPSink()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in sink.refuse:
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            if address in sink.refuse_for_now:
                return f"450 4.7.1 <{address}>: Recipient address rejected: Greylisted"
            if address in sink.refuse_relay:
                return f"554 5.7.1 <{address}>: Relay access denied"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if sink.delay:
                await asyncio.sleep(sink.delay)
            sink.append(envelope)
            return "250 Message accepted for delivery"

    sink.port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()
