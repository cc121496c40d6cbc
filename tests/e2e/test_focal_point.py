"""The focal point picker in a real browser: a click, then the keyboard, set the
point every crop keeps; saving makes copies cropped around it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from articles.models import Article
from articles.renditions import HeroRenditions
from tests.factories import make_article, make_author, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def two_halves():
    """A wide image, red on its left half and blue on its right half."""
    image = Image.new("RGB", (1600, 400), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 800, 400))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile("halves.png", buffer.getvalue(), content_type="image/png")


def sign_in_as_editor(page):
    make_user(username="editrice", superuser=True)
    page.goto("/admin/login/")
    page.fill("#id_username", "editrice")
    page.fill("#id_password", "motdepasse-test")
    page.click("input[type=submit]")


def test_an_editor_sets_the_focal_point_with_the_mouse_and_the_keyboard(page):
    """A click on the image sets both fields and moves the marker; arrow keys on
    the marker move it by hundredths (tenths with Shift) and say where it is;
    the saved article's crops are centred on it."""
    article = make_article(
        hero_image=two_halves(), hero_image_alt="Deux couleurs", authors=[make_author()]
    )
    sign_in_as_editor(page)
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    image = page.locator(".focal-picker__image")
    image.wait_for()
    page.wait_for_function("document.querySelector('.focal-picker__image').naturalWidth > 0")
    box = image.bounding_box()
    image.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.25})
    x = float(page.input_value("#id_hero_focal_x"))
    y = float(page.input_value("#id_hero_focal_y"))
    assert abs(x - 0.1) < 0.02 and abs(y - 0.25) < 0.02

    marker = page.locator(".focal-picker__marker")
    assert marker.evaluate("element => element === document.activeElement")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    assert float(page.input_value("#id_hero_focal_x")) == pytest.approx(x + 0.02, abs=0.0015)
    assert float(page.input_value("#id_hero_focal_y")) == pytest.approx(y + 0.1, abs=0.0015)
    label = marker.get_attribute("aria-label")
    assert f"à {round((x + 0.02) * 100)} sur 100 depuis la gauche" in label
    left = marker.evaluate("element => element.style.left")
    assert left.startswith(f"{(x + 0.02) * 100:.0f}") or left.startswith(f"{(x + 0.02) * 100:.1f}")
    # The 3:2 preview shows the red half only.
    assert (
        page.locator(".focal-picker__crop img")
        .first.evaluate("element => element.style.transform")
        .startswith("translate(0px")
    )

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    article.refresh_from_db()
    assert article.hero_focal_x == pytest.approx(x + 0.02, abs=0.0015)
    assert article.hero_focal_y == pytest.approx(y + 0.1, abs=0.0015)
    renditions = HeroRenditions.of(article)
    assert renditions is not None and "|0.1" in article.hero_renditions["key"]


def test_a_new_image_is_shown_in_the_picker_before_it_is_saved(page, tmp_path):
    """Choosing a file shows it in the picker at once, focal point at the centre."""
    make_article(title="Sans image")
    sign_in_as_editor(page)
    article = Article.objects.get(title="Sans image")
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    assert page.locator(".focal-picker__stage").is_hidden()
    path = tmp_path / "photo.png"
    path.write_bytes(two_halves().read())
    page.set_input_files("#id_hero_image", str(path))
    page.locator(".focal-picker__stage").wait_for()
    assert page.locator(".focal-picker__image").get_attribute("src").startswith("blob:")
    assert page.input_value("#id_hero_focal_x") == "0.5"


def test_the_previews_crop_exactly_as_the_copies_are_made(page):
    """The picker's previews compute the same boxes as renditions.crop_box, to
    the pixel, rounding halves as Python does, for every crop and many sizes."""
    import random

    from articles.renditions import CROPS, crop_box

    article = make_article(hero_image=two_halves(), hero_image_alt="x", authors=[make_author()])
    sign_in_as_editor(page)
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    page.wait_for_function("typeof window.newsroomCropBox === 'function'")
    chance = random.Random(6)
    cases = [
        (width, height, crop.ratio, round(chance.random(), 3), round(chance.random(), 3))
        for crop in CROPS.values()
        for width, height in [(1000, 1000), (1600, 900), (901, 1333), (1200, 630), (7, 3)]
        + [(chance.randint(1, 5000), chance.randint(1, 5000)) for _ in range(60)]
    ]
    boxes = page.evaluate(
        "cases => cases.map(([w, h, r, x, y]) => {"
        " const b = window.newsroomCropBox(w, h, r, x, y);"
        " return [b.left, b.top, b.left + b.width, b.top + b.height]; })",
        cases,
    )
    assert [tuple(box) for box in boxes] == [crop_box(*case) for case in cases]
