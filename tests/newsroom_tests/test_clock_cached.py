"""What pages read at every rendering (the menu, « Les plus lus », the
newsletters of the form, the consent wording, spelling variants) is kept in
the process under the content clock: computed once while content is
unchanged, again after any change, never past the next scheduled publication;
and, for values kept per key (a listing's size), for a bounded number of keys.
The public templates' addresses are remembered per script prefix."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import set_script_prefix
from django.utils import timezone

from articles.models import Section
from newsroom import pagecache
from newsroom.pagecache import clock_cached, clock_cached_for
from tests.factories import make_article

pytestmark = pytest.mark.django_db


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.calls


def test_a_value_is_computed_once_while_content_is_unchanged():
    """Asked three times with no write in between: one computation."""
    compute = Counter()
    values = [clock_cached("test:value", compute, 3600) for _ in range(3)]
    assert values == [1, 1, 1] and compute.calls == 1


def test_any_change_to_content_computes_it_again():
    """A section renamed (a write the clock sees) gives a new computation."""
    make_article()
    compute = Counter()
    assert clock_cached("test:value", compute, 3600) == 1
    section = Section.objects.get()
    section.name = "Autre nom"
    section.save()
    assert clock_cached("test:value", compute, 3600) == 2
    assert clock_cached("test:value", compute, 3600) == 2


def test_another_variant_computes_it_again():
    """The same name with another variant (« Les plus lus »: the refresh window)."""
    compute = Counter()
    assert clock_cached("test:value", compute, 3600, variant=1) == 1
    assert clock_cached("test:value", compute, 3600, variant=2) == 2
    assert clock_cached("test:value", compute, 3600, variant=2) == 2


def test_nothing_is_kept_past_the_next_scheduled_publication(monkeypatch):
    """A value computed before a scheduled article's time is computed again once
    that time has come, though no write happened, and not before."""
    make_article(published_at=timezone.now() + timedelta(minutes=5))
    compute = Counter()
    assert clock_cached("test:value", compute, 3600) == 1
    now = pagecache.time.time()
    monkeypatch.setattr(pagecache.time, "time", lambda: now + 4 * 60)
    assert clock_cached("test:value", compute, 3600) == 1
    monkeypatch.setattr(pagecache.time, "time", lambda: now + 6 * 60)
    assert clock_cached("test:value", compute, 3600) == 2


def test_nothing_is_kept_longer_than_asked(monkeypatch):
    """``seconds`` bounds the life of a value even with no change at all."""
    compute = Counter()
    assert clock_cached("test:value", compute, 60) == 1
    now = pagecache.time.time()
    monkeypatch.setattr(pagecache.time, "time", lambda: now + 61)
    assert clock_cached("test:value", compute, 60) == 2


def test_values_for_many_keys_are_kept_each_and_bounded():
    """clock_cached_for (a listing's size for each tag, author and section)
    keeps one value per key, computed again after any change, and keeps only
    the ``most`` keys last asked: a crawler walking every tag cannot make a
    process keep them all."""
    make_article()
    calls = []

    def compute_for(key):
        def compute():
            calls.append(key)
            return f"{key}:{len(calls)}"

        return compute

    def ask(key):
        return clock_cached_for("test:keyed", key, compute_for(key), 3600, most=2)

    assert [ask("a"), ask("b"), ask("a"), ask("b")] == ["a:1", "b:2", "a:1", "b:2"]
    assert ask("c") == "c:3"  # "a" was the least recently asked: it goes
    assert [ask("b"), ask("c")] == ["b:2", "c:3"]
    assert ask("a") == "a:4" and calls == ["a", "b", "c", "a"]
    assert len(pagecache._kept_by_key["test:keyed"]) == 2
    section = Section.objects.get()
    section.name = "Autre nom"
    section.save()
    assert [ask("c"), ask("a"), ask("a")] == ["c:5", "a:6", "a:6"]


def test_links_follow_the_script_prefix_they_are_served_under(settings):
    """The site mounted under /journal/ links there, menu included; at the
    root, it links to the root: remembered addresses and the kept menu are
    per prefix."""
    settings.PAGE_CACHE_ENABLED = False
    make_article()
    at_root = Client().get("/").content.decode()
    # What the WSGI handler does with SCRIPT_NAME (the test client does not).
    set_script_prefix("/journal/")
    try:
        mounted = Client().get("/").content.decode()
    finally:
        set_script_prefix("/")
    assert 'href="/feed/"' in at_root and "/journal/" not in at_root
    assert 'href="/journal/feed/"' in mounted and 'href="/feed/"' not in mounted
    # The menu too, though it is kept while content is unchanged.
    section = Section.objects.get().get_absolute_url()
    assert f'<li><a href="{section}"' in at_root
    assert f'<li><a href="/journal{section}"' in mounted
    assert '<li><a href="/journal/newsletter/">' in mounted
