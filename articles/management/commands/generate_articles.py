"""Fill the database with generated articles, for benchmarks: French text made
from the demo articles' sentences, spread over sections, tags and authors."""

import random
import re
import time
import tomllib
from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from articles.models import SEARCH_TABLE, Article, Author, Section, Tag
from articles.renditions import HeroRenditions

from .load_demo_content import CONTENT_FILE

BATCH = 500
SEARCH_INDEX = "articles_article_search_vector_idx"
REBUILD_INDEX_FROM = 5000  # articles to add


class Command(BaseCommand):
    help = (
        "Ajoute des articles générés jusqu’à atteindre le nombre demandé (mesures de performance)."
    )

    def add_arguments(self, parser):
        parser.add_argument("total", type=int, help="Nombre d’articles publiés à atteindre.")
        parser.add_argument("--seed", type=int, default=2024)

    def handle(self, total, seed, verbosity=1, **options):
        if not Article.objects.exists():
            call_command("load_demo_content", verbosity=0)
        missing = total - Article.objects.count()
        if missing <= 0:
            self.stdout.write(f"{Article.objects.count()} articles : rien à ajouter.")
            return
        rng = random.Random(seed + missing)
        content = tomllib.loads(CONTENT_FILE.read_text(encoding="utf-8"))
        sentences = [
            sentence
            for article in content["articles"]
            for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"<[^>]+>", " ", article["body"]))
            if len(sentence.split()) > 6
        ]
        headings = re.findall(r"<h2>(.*?)</h2>", " ".join(a["body"] for a in content["articles"]))
        titles = [article["title"] for article in content["articles"]]
        sections = list(Section.objects.all())
        tags = list(Tag.objects.all())
        authors = list(Author.objects.all())
        for index in range(20 - len(authors)):
            author, _ = Author.objects.get_or_create(
                slug=f"correspondant-{index}", defaults={"name": f"Correspondant {index}"}
            )
            authors.append(author)
        illustrated = [a for a in Article.objects.exclude(hero_image="") if HeroRenditions.of(a)]
        rebuild_index = missing >= REBUILD_INDEX_FROM
        if rebuild_index:
            # Building a GIN index once is much faster than updating it row by
            # row: the search entries' index (migration 0029) is dropped, and
            # made again from PostgreSQL's own definition of it.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [SEARCH_INDEX])
                search_index = cursor.fetchone()[0]
                cursor.execute(f"DROP INDEX {SEARCH_INDEX}")
        started = time.monotonic()
        now = timezone.now()
        created = 0
        first_number = Article.objects.count() + 1
        try:
            while created < missing:
                count = min(BATCH, missing - created)
                batch = []
                for _ in range(count):
                    number = first_number + created + len(batch)
                    title = f"{rng.choice(titles)} ({number})"
                    body = "".join(
                        f"<h2>{rng.choice(headings)}</h2>"
                        + "".join(f"<p>{' '.join(rng.sample(sentences, 4))}</p>" for _ in range(3))
                        for _ in range(rng.randint(3, 4))
                    )
                    image = rng.choice(illustrated) if illustrated and rng.random() < 0.8 else None
                    standfirst = " ".join(rng.sample(sentences, 2))
                    article = Article(
                        title=title,
                        slug=f"{slugify(title)[:60]}-{number}",
                        standfirst=standfirst,
                        body=body,
                        section=rng.choice(sections),
                        status=Article.Status.PUBLISHED,
                        published_at=now - timedelta(minutes=rng.randint(60, 60 * 24 * 365 * 6)),
                        hero_image=image.hero_image.name if image else "",
                        hero_image_width=image.hero_image_width if image else None,
                        hero_image_height=image.hero_image_height if image else None,
                        hero_image_alt=image.hero_image_alt if image else "",
                        hero_focal_x=image.hero_focal_x if image else 0.5,
                        hero_focal_y=image.hero_focal_y if image else 0.5,
                        hero_renditions=image.hero_renditions if image else {},
                    )
                    article.derive_text()  # bulk_create does not call save()
                    batch.append(article)
                with transaction.atomic():
                    saved = Article.objects.bulk_create(batch)
                    Article.authors.through.objects.bulk_create(
                        Article.authors.through(article_id=article.pk, author_id=author.pk)
                        for article in saved
                        for author in rng.sample(authors, rng.choice((1, 1, 2)))
                    )
                    Article.tags.through.objects.bulk_create(
                        Article.tags.through(article_id=article.pk, tag_id=tag.pk)
                        for article in saved
                        for tag in rng.sample(tags, rng.randint(1, 3))
                    )
                created += count
                if verbosity:
                    self.stdout.write(
                        f"\r{created}/{missing} articles ({time.monotonic() - started:.0f} s)",
                        ending="",
                    )
        finally:
            # Made again even when the load stops (Ctrl-C, an error).
            if rebuild_index:
                if verbosity:
                    self.stdout.write("\nIndex de recherche…", ending="")
                with connection.cursor() as cursor:
                    cursor.execute(search_index)
                    cursor.execute(f"ANALYZE articles_article, {SEARCH_TABLE}")
        self.stdout.write(
            f"\n{Article.objects.count()} articles ({time.monotonic() - started:.0f} s)."
        )
