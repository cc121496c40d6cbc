"""Small factories for test data: plain functions with sensible defaults."""

import io
import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image

from articles.models import Article, Author, Section, Tag
from newsletter.models import (
    Issue,
    IssueArticle,
    Newsletter,
    Subscriber,
    Subscription,
    default_newsletter_id,
)

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


def make_tag(name=None, **fields):
    """A tag (a theme unless ``kind`` says otherwise), its slug made from its name."""
    name = name or f"Mot-clé {_next()}"
    fields.setdefault("slug", slugify(name))
    return Tag.objects.create(name=name, **fields)


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


def change_visibility(article, which, rng, now):
    """One of the two changes of visibility that random archives undergo in
    tests, made with update(): a status drawn at random (``which`` 0), or a
    publication time drawn around ``now`` (1)."""
    if which == 0:
        status = rng.choice([Article.Status.PUBLISHED, Article.Status.DRAFT])
        Article.objects.filter(pk=article.pk).update(status=status)
    else:
        moment = now + timedelta(hours=rng.randint(-40, 3))
        Article.objects.filter(pk=article.pk).update(published_at=moment)


def make_issue(*, articles=2, **fields):
    """A draft newsletter issue of ``articles`` published articles with hero images."""
    fields.setdefault("subject", "La semaine en Asie centrale")
    fields.setdefault("introduction", "Bonjour,\n\nVoici la sélection.")
    issue = Issue.objects.create(**fields)
    for position in range(articles):
        article = make_article(
            title=f"Article sélectionné {position}",
            hero_image=image_upload(width=900, height=600),
            hero_image_alt="Une photo",
        )
        IssueArticle.objects.create(issue=issue, article=article, position=position)
    return issue


def make_newsletter(**fields):
    number = _next()
    fields.setdefault("name", f"Liste {number}")
    fields.setdefault("slug", f"liste-{number}")
    fields.setdefault("position", number)
    return Newsletter.objects.create(**fields)


def subscribe(subscribers, newsletter=None, status=Subscription.Status.ACTIVE):
    """Give ``subscribers`` a place on ``newsletter`` (the default one)."""
    newsletter_id = newsletter.pk if newsletter else default_newsletter_id()
    Subscription.objects.bulk_create(
        Subscription(
            subscriber=subscriber,
            newsletter_id=newsletter_id,
            status=status,
            subscribed_at=timezone.now() if status == Subscription.Status.ACTIVE else None,
        )
        for subscriber in subscribers
    )


def make_subscriber(*, newsletters=None, **fields):
    """A subscriber; a confirmed one receives ``newsletters`` (the default one
    unless told otherwise)."""
    number = _next()
    fields.setdefault("email", f"lecteur{number}@exemple.fr")
    subscriber = Subscriber.objects.create(**fields)
    if subscriber.status == Subscriber.Status.CONFIRMED:
        for newsletter in newsletters if newsletters is not None else [None]:
            subscribe([subscriber], newsletter)
    return subscriber


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


def make_member(group_name, **fields):
    """A staff user in one of the newsroom's groups ("Journaliste", "Éditeur")."""
    from django.contrib.auth.models import Group

    user = make_user(**fields)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def client_for(user):
    """A test client signed in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def change_url(article):
    """The article's page in the admin."""
    from django.urls import reverse

    return reverse("admin:articles_article_change", args=[article.pk])


def admin_article_data(article=None, **overrides):
    """The POST data of the admin article form, as a browser would send it:
    from ``article`` when given (with the version it was loaded at)."""
    data = {
        "title": "Un nouvel article",
        "slug": "un-nouvel-article",
        "standfirst": "Le chapô.",
        "body": "<h2>Intertitre</h2><p>Texte</p>",
        "hero_image_alt": "",
        "hero_image_caption": "",
        "hero_image_credit": "",
        "section": "",
        "authors": [],
        "tags": [],
        "original_language": "",
        "original_title": "",
        "original_url": "",
        "translators": [],
        "status": Article.Status.DRAFT,
        "published_at_0": "",
        "published_at_1": "",
        "loaded_version": "",
    }
    if article is not None:
        local = timezone.localtime(article.published_at) if article.published_at else None
        data.update(
            {
                "title": article.title,
                "slug": article.slug,
                "standfirst": article.standfirst,
                "body": article.body,
                "hero_image_alt": article.hero_image_alt,
                "hero_image_caption": article.hero_image_caption,
                "hero_image_credit": article.hero_image_credit,
                "section": article.section_id,
                "authors": list(article.authors.values_list("pk", flat=True)),
                "tags": list(article.tags.values_list("pk", flat=True)),
                "original_language": article.original_language,
                "original_title": article.original_title,
                "original_url": article.original_url,
                "translators": list(article.translators.values_list("pk", flat=True)),
                "is_featured": "on" if article.is_featured else "",
                "status": article.status,
                "published_at_0": f"{local:%d/%m/%Y}" if local else "",
                "published_at_1": f"{local:%H:%M:%S}" if local else "",
                "loaded_version": article.version,
            }
        )
    for prefix in ("preview_links", "corrections"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(overrides)
    return data


def signup_data(email, **fields):
    """The signup form's POST data as a person's browser sends it: the signed time
    the form was shown and an empty bot trap."""
    from newsletter.forms import form_stamp

    fields.setdefault("newsletters", [str(default_newsletter_id())])
    return {"email": email, "started": form_stamp(), "website": "", **fields}
