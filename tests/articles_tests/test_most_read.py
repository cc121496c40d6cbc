"""« Les plus lus »: readings counted by a first-party beacon over real HTTP,
aggregated per hour, no personal data; the block on home and article pages."""

import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ReadCount
from newsroom.management.commands.worker import beat
from tests.factories import make_article, make_author

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def beacon(live_server, article_id, *, agent=FIREFOX, origin=None, method="POST", site=None):
    """The beacon as a browser sends it: a POST with no body, from the site."""
    url = live_server.url + reverse("articles:record-read", args=[article_id])
    headers = {"User-Agent": agent, "Origin": origin or live_server.url}
    if site:
        headers["Sec-Fetch-Site"] = site
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def most_read_block(content):
    start = content.index('class="most-read"')
    return content[start : content.index("</section>", start)]


def reads(article):
    return sum(ReadCount.objects.filter(article=article).values_list("count", flat=True))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_beacon_counts_readers_and_nothing_else(live_server):
    """A browser's post from the site counts; bots, other sites, drafts, unknown
    or absurd ids and GETs count nothing; every answer is an empty 204 (405 for
    a GET) that sets no cookie and is never cached."""
    article = make_article()
    draft = make_article(published=False)
    status, headers = beacon(live_server, article.pk)
    assert status == 204
    assert headers.get("Set-Cookie") is None
    assert "no-store" in headers["Cache-Control"]
    cache.clear()  # the same reader, after READ_REPEAT_SECONDS
    beacon(live_server, article.pk, site="same-origin")
    assert reads(article) == 2
    cache.clear()

    assert (
        beacon(live_server, article.pk, agent="Googlebot/2.1 (+http://www.google.com/bot.html)")[0]
        == 204
    )
    assert beacon(live_server, article.pk, agent="Mozilla/5.0 HeadlessChrome/120.0")[0] == 204
    assert beacon(live_server, article.pk, agent="")[0] == 204
    assert beacon(live_server, article.pk, origin="https://ailleurs.example")[0] == 204
    assert beacon(live_server, article.pk, site="cross-site")[0] == 204
    assert beacon(live_server, article.pk, origin="http://[::1")[0] == 204  # unparsable
    assert beacon(live_server, draft.pk)[0] == 204
    assert beacon(live_server, 10**30)[0] == 204
    assert beacon(live_server, article.pk + draft.pk + 1000)[0] == 204
    assert beacon(live_server, article.pk, method="GET")[0] == 405
    assert reads(article) == 2
    assert not ReadCount.objects.exclude(article=article).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reader_reloading_or_a_script_looping_counts_once(live_server, settings):
    """Fifty posts from one address count one reading; another article read
    from the same address counts too; the key kept in the cache is a hash that
    names neither the address nor the article."""
    first, second = make_article(), make_article()
    for _ in range(50):
        assert beacon(live_server, first.pk)[0] == 204
    beacon(live_server, second.pk)
    assert (reads(first), reads(second)) == (1, 1)
    keys = list(cache._cache)  # the local memory cache of the tests
    assert keys and not any("127.0.0.1" in key or f"|{first.pk}" in key for key in keys)


@pytest.mark.django_db
def test_readings_are_kept_per_hour_and_only_as_numbers():
    """One row per article and hour, holding a number: nothing else is stored."""
    article = make_article()
    now = timezone.now()
    for when in (now, now, now - timedelta(hours=1)):
        assert ReadCount.objects.record(article.pk, when) is True
    rows = list(ReadCount.objects.order_by("hour").values_list("hour", "count"))
    assert [count for _, count in rows] == [1, 2]
    assert all(hour.minute == hour.second == hour.microsecond == 0 for hour, _ in rows)
    stored = {field.name for field in ReadCount._meta.get_fields()}
    assert stored == {"id", "article", "hour", "count"}


@pytest.mark.django_db
def test_the_block_ranks_the_last_day_and_forgets_unpublished_articles(client):
    """Home and article pages list the most read public articles of the last 24
    hours, most read first, and say what the list covers; an article
    unpublished leaves the list at once; older readings do not count."""
    now = timezone.now()
    first, second, old = (make_article(title=t) for t in ("Très lu", "Assez lu", "Lu avant"))
    for article, count in ((first, 5), (second, 3)):
        for _ in range(count):
            ReadCount.objects.record(article.pk, now)
    for _ in range(9):
        ReadCount.objects.record(old.pk, now - timedelta(hours=30))
    for url in ("/", second.get_absolute_url()):
        block = most_read_block(client.get(url).content.decode())
        assert block.index("Très lu") < block.index("Assez lu"), url
        assert "Lu avant" not in block, url
        assert "Lectures des 24 dernières heures" in block
        assert "mise à jour toutes les 10 minutes" in block
    Article.objects.filter(pk=first.pk).update(status=Article.Status.DRAFT)
    block = most_read_block(client.get("/").content.decode())
    assert "Très lu" not in block and "Assez lu" in block


@pytest.mark.django_db
def test_pages_with_the_block_stay_cacheable(client):
    """The block and the beacon change nothing to what shared caches may keep."""
    article = make_article()
    ReadCount.objects.record(article.pk)
    for url in ("/", article.get_absolute_url()):
        response = client.get(url)
        assert "Les plus lus" in response.content.decode()
        assert response.cookies == {}
        assert response["Cache-Control"].startswith("public")
        assert "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db
def test_previews_send_no_beacon(admin_client):
    """A staff preview is not a reading."""
    draft = make_article(published=False)
    content = admin_client.get(draft.get_absolute_url()).content.decode()
    assert "js/read.js" not in content


@pytest.mark.django_db
def test_old_counts_are_pruned_by_the_worker(settings):
    """The worker's heartbeat forgets counts older than READ_COUNTS_KEPT_DAYS."""
    article = make_article()
    now = timezone.now()
    ReadCount.objects.record(article.pk, now - timedelta(days=31))
    ReadCount.objects.record(article.pk, now - timedelta(days=29))
    beat("test-worker")
    assert ReadCount.objects.count() == 1


@pytest.mark.django_db
def test_editors_see_the_counts_in_the_article_list(admin_client):
    """The article list shows readings of the last 24 hours and 7 days."""
    article = make_article(title="Compté", authors=[make_author()])
    now = timezone.now()
    for when in (now, now, now - timedelta(days=3)):
        ReadCount.objects.record(article.pk, when)
    response = admin_client.get(reverse("admin:articles_article_changelist") + "?o=6")
    content = response.content.decode()
    assert "Lectures (24 h)" in content and "Lectures (7 jours)" in content
    row = content[content.index("Compté") :]
    assert '<td class="field-reads_day">2</td>' in row
    assert '<td class="field-reads_week">3</td>' in row


@pytest.mark.django_db
def test_pages_with_the_block_are_kept_until_the_list_is_refreshed(client, settings):
    """A page showing « Les plus lus » is kept by the page cache, and by browsers
    and shared caches, until the list's next refresh time, then made again
    with the new list: the block's stated freshness holds."""
    import time

    settings.PAGE_CACHE_ENABLED = True
    settings.MOST_READ_REFRESH_SECONDS = 2
    first, second = make_article(title="Lu d’abord"), make_article(title="Lu ensuite")
    ReadCount.objects.record(first.pk)
    time.sleep(2 - time.time() % 2 + 0.05)  # the start of a refresh window
    response = client.get("/")
    assert response["X-Page-Cache"] == "miss"
    # Shared caches may keep it until the refresh, not their usual minute.
    s_maxage = int(re.search(r"s-maxage=(\d+)", response["Cache-Control"]).group(1))
    assert s_maxage <= 2
    for _ in range(3):
        ReadCount.objects.record(second.pk)
    assert client.get("/")["X-Page-Cache"] == "hit"
    time.sleep(2 - time.time() % 2 + 0.05)  # the next window
    response = client.get("/")
    assert response["X-Page-Cache"] == "miss"
    block = most_read_block(response.content.decode())
    assert block.index("Lu ensuite") < block.index("Lu d’abord")
