"""Make the hero image copies that are missing or out of date: after an upgrade
that changes what copies are made (renditions.VERSION), or for images written
around the model (a restored database, a bulk import)."""

from django.core.management.base import BaseCommand

from articles.models import Article


class Command(BaseCommand):
    help = "Crée les copies redimensionnées manquantes ou périmées des images principales."

    def handle(self, *args, verbosity=1, **options):
        field = Article._meta.get_field("hero_image")
        made = 0
        articles = Article.objects.exclude(hero_image="").only(
            "hero_image",
            "hero_image_width",
            "hero_image_height",
            "hero_focal_x",
            "hero_focal_y",
            "hero_renditions",
        )
        for article in articles.iterator(chunk_size=200):
            if field.derive_renditions(article):
                # Derived data only: the article's version and dates stay.
                Article.objects.filter(pk=article.pk).update(
                    hero_renditions=article.hero_renditions
                )
                made += 1
        if verbosity:
            self.stdout.write(f"{made} image(s) recopiée(s).")
