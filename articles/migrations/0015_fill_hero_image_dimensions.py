"""Hero images stored without their dimensions (the demo content did so) made
every load of their article open the file: read them once, now."""

from django.db import migrations


def fill_dimensions(apps, schema_editor):
    from PIL import Image, UnidentifiedImageError

    Article = apps.get_model("articles", "Article")
    storage = Article._meta.get_field("hero_image").storage
    missing = Article.objects.exclude(hero_image="").filter(hero_image_width__isnull=True)
    for pk, name in missing.values_list("pk", "hero_image").iterator():
        try:
            with storage.open(name) as file, Image.open(file) as image:
                width, height = image.size
        except (OSError, UnidentifiedImageError):
            continue  # missing or unreadable: the page copes (SafeImageField)
        Article.objects.filter(pk=pk).update(hero_image_width=width, hero_image_height=height)


class Migration(migrations.Migration):
    dependencies = [("articles", "0014_unaccent_and_trigram_search")]

    operations = [migrations.RunPython(fill_dimensions, migrations.RunPython.noop)]
