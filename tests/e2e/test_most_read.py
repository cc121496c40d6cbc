"""The reading beacon in a real browser: a page served whole from the cache is
counted too, and the count reaches « Les plus lus »."""

import time

import pytest

from articles.models import ReadCount
from tests.tools import BROWSER_ARGS  # noqa: F401 (the browser fixture launches with them)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def wait_for_reads(article, expected, seconds=10):
    """The beacon is sent after the page shows: wait until it is counted."""
    deadline = time.monotonic() + seconds
    while True:
        total = sum(ReadCount.objects.filter(article=article).values_list("count", flat=True))
        if total >= expected or time.monotonic() > deadline:
            return total
        time.sleep(0.1)


def test_pages_served_from_caches_are_counted_and_show_in_most_read(
    browser, live_server, site, settings
):
    """A first reader renders the page (a miss); a second gets it from the page
    cache (a hit), then again from the browser's own cache: three readings are
    counted, the home page then lists the article in « Les plus lus », and no
    cookie is ever set."""
    settings.PAGE_CACHE_ENABLED = True
    settings.READ_REPEAT_SECONDS = 0  # the two "readers" share one address here
    article = site["articles"][1]
    contexts = [
        browser.new_context(base_url=live_server.url, locale="fr-FR", user_agent=FIREFOX)
        for _ in range(2)
    ]
    first, second = (context.new_page() for context in contexts)
    assert first.goto(article.get_absolute_url()).headers["x-page-cache"] == "miss"
    assert wait_for_reads(article, 1) == 1
    served = second.goto(article.get_absolute_url())
    assert served.headers["x-page-cache"] == "hit"
    assert wait_for_reads(article, 2) == 2
    again = second.goto(article.get_absolute_url())
    assert again.headers["x-request-id"] == served.headers["x-request-id"]  # not asked again
    assert wait_for_reads(article, 3) == 3
    # The list follows its own refresh time (10 minutes on the site): here one
    # second, waited for; the page cache is bypassed so the list is read.
    settings.MOST_READ_REFRESH_SECONDS = 1
    settings.PAGE_CACHE_ENABLED = False
    time.sleep(1.1)
    second.goto("/")
    assert second.locator(".most-read li").all_inner_texts() == [article.title]
    for context in contexts:
        assert context.cookies() == []
        context.close()
