"""Hero image copies: cropped around the focal point, made by every writer that
saves the article, read by pages without touching a file."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from articles.models import Article
from articles.renditions import HeroRenditions, crop_box
from tests.factories import make_article

pytestmark = pytest.mark.django_db


def two_halves(width=2400, height=400):
    """An image red on its left half and blue on its right half."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile("halves.png", buffer.getvalue(), content_type="image/png")


def colour_of(article, crop):
    """The average colour of the smallest JPEG copy of ``crop``."""
    copy = HeroRenditions.of(article).copies(crop)[0]
    path = copy.url.removeprefix("/media/")
    with default_storage.open(path) as stored:
        image = Image.open(stored).convert("RGB")
        return image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))


@pytest.mark.parametrize(
    ("size", "ratio", "focal", "box"),
    [
        ((2000, 1000), 3 / 2, (0.5, 0.5), (250, 0, 1750, 1000)),
        ((2000, 1000), 3 / 2, (0.0, 0.5), (0, 0, 1500, 1000)),
        ((2000, 1000), 3 / 2, (1.0, 0.5), (500, 0, 2000, 1000)),
        ((2000, 1000), 3 / 2, (0.6, 0.5), (450, 0, 1950, 1000)),
        ((1000, 2000), 16 / 9, (0.5, 0.1), (0, 0, 1000, 562)),
        ((1000, 2000), 16 / 9, (0.5, 0.5), (0, 719, 1000, 1281)),
        ((1000, 2000), 16 / 9, (0.5, 0.95), (0, 1438, 1000, 2000)),
        ((1200, 630), 1200 / 630, (0.9, 0.9), (0, 0, 1200, 630)),
    ],
)
def test_the_crop_keeps_the_focal_point_as_central_as_the_edges_allow(size, ratio, focal, box):
    """The largest box of the ratio, centred on the focal point, moved inside the image."""
    assert crop_box(*size, ratio, *focal) == box


def test_cards_lead_and_social_images_are_cropped_around_the_focal_point():
    """With the focal point on the red half, every crop is red; moved to the blue
    half and saved, every crop is blue, under new addresses (copies are served
    as immutable)."""
    article = make_article(hero_image=two_halves(), hero_focal_x=0.1)
    before = {crop: HeroRenditions.of(article).largest(crop).url for crop in ("card", "lead")}
    for crop in ("card", "lead", "social"):
        red, _, blue = colour_of(article, crop)
        assert red > 200 and blue < 60, crop

    article.hero_focal_x = 0.9
    article.save()
    for crop in ("card", "lead", "social"):
        red, _, blue = colour_of(article, crop)
        assert blue > 200 and red < 60, crop
    assert all(HeroRenditions.of(article).largest(c).url != url for c, url in before.items())


def test_sizes_follow_the_crops():
    """Cards are 3:2, the lead 16:9, the social image 1200 × 630."""
    article = make_article(hero_image=two_halves(width=2400, height=1600))
    renditions = HeroRenditions.of(article)
    assert [(c.width, c.height) for c in renditions.copies("card")] == [(480, 320), (800, 533)]
    assert [(c.width, c.height) for c in renditions.copies("lead", "webp")] == [
        (800, 450),
        (1200, 675),
        (1600, 900),
    ]
    assert [(c.width, c.height) for c in renditions.copies("social")] == [(1200, 630)]
    assert renditions.copies("social", "webp") == []


def test_a_partial_save_of_the_focal_point_remakes_the_copies():
    """save(update_fields=["hero_focal_x"]) writes the new copies with it."""
    article = make_article(hero_image=two_halves(), hero_focal_x=0.1)
    article.hero_focal_x = 0.9
    article.save(update_fields=["hero_focal_x"])
    stored = Article.objects.get(pk=article.pk)
    assert HeroRenditions.of(stored) is not None
    red, _, blue = colour_of(stored, "card")
    assert blue > 200 and red < 60


def test_copies_of_another_image_or_focal_point_are_not_shown():
    """A row changed around the model (an UPDATE of the focal point) shows the
    original image, never copies cropped elsewhere."""
    article = make_article(hero_image=two_halves(), hero_focal_x=0.1)
    Article.objects.filter(pk=article.pk).update(hero_focal_x=0.9)
    assert HeroRenditions.of(Article.objects.get(pk=article.pk)) is None


def test_removing_the_image_forgets_its_copies():
    """An article whose image is removed keeps no description of old copies."""
    article = make_article(hero_image=two_halves())
    article.hero_image = ""
    article.save()
    assert Article.objects.get(pk=article.pk).hero_renditions == {}


def test_make_renditions_remakes_stale_copies_without_touching_the_article():
    """The command remakes copies out of date (an upgrade, a row written around
    the model) and leaves the article's version and dates alone; run again, it
    has nothing to do."""
    article = make_article(hero_image=two_halves())
    Article.objects.filter(pk=article.pk).update(hero_renditions={"key": "ancienne"})
    before = Article.objects.values("version", "updated_at").get(pk=article.pk)
    output = io.StringIO()
    call_command("make_renditions", stdout=output)
    assert output.getvalue().strip() == "1 image(s) recopiée(s)."
    stored = Article.objects.get(pk=article.pk)
    assert HeroRenditions.of(stored) is not None
    assert Article.objects.values("version", "updated_at").get(pk=article.pk) == before
    call_command("make_renditions", stdout=output)
    assert output.getvalue().strip().endswith("0 image(s) recopiée(s).")


def test_an_unreadable_image_gets_no_copies_and_breaks_nothing(client):
    """A file the encoders cannot read (written around the upload checks) is
    saved without copies; its page shows the original."""
    default_storage.save("articles/abimee.jpg", io.BytesIO(b"\xff\xd8\xff pas une image"))
    article = make_article()
    article.hero_image = "articles/abimee.jpg"
    article.save()
    assert article.hero_renditions == {}
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert 'src="/media/articles/abimee.jpg"' in response.content.decode()
