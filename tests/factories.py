"""Small factories for test data: plain functions with sensible defaults."""

import io
import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from articles.models import Article, Author, Section
from newsletter.models import Subscriber

_counter = itertools.count(1)


def _next():
    return next(_counter)


def image_bytes(width=120, height=80, image_format="JPEG", color=(30, 90, 160)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, image_format)
    return buffer.getvalue()


def image_upload(name="photo.jpg", **kwargs):
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")


def make_section(**fields):
    number = _next()
    fields.setdefault("name", f"Rubrique {number}")
    fields.setdefault("slug", f"rubrique-{number}")
    fields.setdefault("position", number)
    return Section.objects.create(**fields)


def make_author(**fields):
    number = _next()
    fields.setdefault("name", f"Auteur {number}")
    fields.setdefault("slug", f"auteur-{number}")
    return Author.objects.create(**fields)


def make_article(*, authors=None, published=True, **fields):
    """A published article by default; ``published=False`` gives a draft."""
    number = _next()
    fields.setdefault("title", f"Article numéro {number}")
    fields.setdefault("slug", f"article-{number}")
    fields.setdefault("standfirst", f"Le chapô de l’article {number}.")
    fields.setdefault(
        "body", f"<h2>Intertitre {number}</h2><p>Le texte de l’article {number}.</p>"
    )
    if "section" not in fields:
        fields["section"] = make_section()
    if published:
        fields.setdefault("status", Article.Status.PUBLISHED)
        fields.setdefault("published_at", timezone.now() - timedelta(hours=number))
    else:
        fields.setdefault("status", Article.Status.DRAFT)
    article = Article.objects.create(**fields)
    article.authors.set(authors if authors is not None else [make_author()])
    return article


def make_subscriber(**fields):
    number = _next()
    fields.setdefault("email", f"lecteur{number}@exemple.fr")
    return Subscriber.objects.create(**fields)


def make_user(*, staff=True, superuser=False, perms=(), **fields):
    from django.contrib.auth.models import Permission

    number = _next()
    fields.setdefault("username", f"user{number}")
    user = get_user_model().objects.create_user(
        password="motdepasse-test", is_staff=staff, is_superuser=superuser, **fields
    )
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
