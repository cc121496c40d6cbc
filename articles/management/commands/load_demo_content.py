"""Load the demo content: sections, authors and articles written for this project,
with images drawn by this command, one of them translated and one in review
with an editor's note. Idempotent: what exists is left as it is."""

import io
import random
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFilter

from articles.models import Article, ArticleNote, Author, ReadCount, Section, Tag
from articles.plaintext import normalize_line
from articles.revisions import after_edit
from articles.roles import EDITOR, JOURNALIST
from articles.typography import french_spacing

CONTENT_FILE = Path(__file__).with_name("demo_content.toml")
IMAGE_SIZE = (1600, 1000)

# Development accounts: username, password, superuser, group, byline. Created only
# with the development settings (or DEBUG on).
DEMO_ACCOUNTS = [
    ("admin", "admin-demo", True, None, None),
    ("editrice", "editrice-demo", False, EDITOR, "claire-dubreuil"),
    ("journaliste", "journaliste-demo", False, JOURNALIST, "aigerim-seitkali"),
]


# Demo issues: newsletter, subject, introduction, articles (by recency), sent
# on (None: a draft to try sending).
DEMO_ISSUES = [
    (
        "essentiel",
        "La semaine en Asie centrale",
        "Bonjour,\n\nCette semaine, nos correspondants reviennent sur l’eau, l’énergie et "
        "les échanges entre voisins. Bonne lecture !",
        [0, 1, 2],
        None,
    ),
    (
        "essentiel",
        "Routes, barrages et marchés",
        "Bonjour,\n\nLes grands chantiers de la région, et ce qu’ils changent pour ceux qui "
        "y vivent.",
        [2, 3, 4],
        "2024-04-26 08:00",
    ),
    (
        "essentiel",
        "Entre Astana et Bichkek",
        "Bonjour,\n\nUne semaine de diplomatie régionale, chiffres à l’appui.",
        [1, 4, 5],
        "2024-04-19 08:00",
    ),
    (
        "alertes",
        "Alerte : accord commercial signé à Astana",
        "Les présidents kazakh et kirghiz viennent de signer leur accord.",
        [0],
        "2024-04-18 17:30",
    ),
    (
        "alertes",
        "Alerte : crue sur le Syr-Daria",
        "Les autorités appellent les riverains à la prudence.",
        [3],
        "2024-04-24 06:15",
    ),
]


class Command(BaseCommand):
    help = "Charge le contenu de démonstration (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-accounts",
            action="store_true",
            help="Crée aussi les comptes de démonstration (développement seulement).",
        )

    def handle(self, *args, with_accounts=False, **options):
        content = tomllib.loads(CONTENT_FILE.read_text(encoding="utf-8"))
        with transaction.atomic():
            created = self.load(content)
            self.load_newsletter()
            self.load_readings()
        self.stdout.write(
            self.style.SUCCESS(
                "Contenu de démonstration : {sections} rubrique(s), {authors} auteur(s), "
                "{tags} mot(s)-clé(s), {articles} article(s) ajouté(s).".format(**created)
            )
        )
        if with_accounts:
            self.create_accounts()
        # After the accounts: a note is signed by the demo editor's.
        with transaction.atomic():
            self.load_notes(content)

    def load(self, content):
        created = {"sections": 0, "authors": 0, "tags": 0, "articles": 0}
        sections = {}
        for position, data in enumerate(content["sections"], start=1):
            section, is_new = Section.objects.get_or_create(
                slug=data["slug"],
                defaults={
                    "name": data["name"],
                    "description": data.get("description", ""),
                    "position": position,
                },
            )
            sections[section.slug] = section
            created["sections"] += is_new
        authors = {}
        for data in content["authors"]:
            author, is_new = Author.objects.get_or_create(
                slug=data["slug"], defaults={"name": data["name"], "bio": data.get("bio", "")}
            )
            authors[author.slug] = author
            created["authors"] += is_new
        tags = {}
        for data in content["tags"]:
            tag, is_new = Tag.objects.get_or_create(
                slug=data["slug"], defaults={"name": data["name"], "kind": data["kind"]}
            )
            tags[tag.slug] = tag
            created["tags"] += is_new
        for data in content["articles"]:
            existing = Article.objects.filter(slug=data["slug"]).first()
            if existing is not None:
                if not existing.tags.exists():
                    existing.tags.set([tags[slug] for slug in data.get("tags", [])])
                self.credit_translation(existing, data, authors)
                continue
            published = data.get("published")
            article = Article(
                slug=data["slug"],
                title=data["title"],
                standfirst=" ".join(data["standfirst"].split()),
                body=data["body"].strip(),
                section=sections[data["section"]],
                status=Article.Status(data.get("status", Article.Status.PUBLISHED)),
                published_at=datetime.fromisoformat(published) if published else None,
                hero_image_alt=data.get("hero_alt", ""),
                hero_image_caption=data.get("hero_caption", ""),
                hero_image_credit=data.get("hero_credit", ""),
                is_featured=data.get("featured", False),
                original_language=data.get("original_language", ""),
                original_title=data.get("original_title", ""),
                original_url=data.get("original_url", ""),
            )
            # A named ContentFile: ImageField reads the dimensions it stores
            # only from a file with a name (without them, every load of the
            # article would open the image again).
            name = f"{data['slug'][:60]}.jpg"
            picture, (article.hero_focal_x, article.hero_focal_y) = draw_image(
                data["slug"], data.get("hero_palette")
            )
            article.hero_image.save(name, ContentFile(picture, name=name), save=False)
            article.save()
            article.authors.set([authors[slug] for slug in data["authors"]])
            article.tags.set([tags[slug] for slug in data.get("tags", [])])
            article.translators.set([authors[slug] for slug in data.get("translators", [])])
            after_edit(article, None, note=_("Contenu de démonstration"))
            if article.published_at:
                # As if written just before publication and not touched since.
                Article.objects.filter(pk=article.pk).update(
                    created_at=article.published_at, updated_at=article.published_at
                )
            created["articles"] += 1
        return created

    def load_readings(self):
        """Readings of the last day for the demo articles, so that « Les plus
        lus » has something to show (only when none were counted lately: real
        readings of a development site are kept)."""
        since = timezone.now() - timedelta(hours=settings.MOST_READ_HOURS)
        if ReadCount.objects.since(since).exists():
            return
        rng = random.Random("lectures")
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        ReadCount.objects.bulk_create(
            ReadCount(article=article, hour=hour - timedelta(hours=hours_ago), count=count)
            for article in Article.objects.published().order_by("pk")
            for hours_ago in range(0, settings.MOST_READ_HOURS, 3)
            if (count := rng.randint(0, 40))
        )

    def credit_translation(self, article, data, authors):
        """Give an article loaded before translation credits existed the credit
        the demo content now has, keeping its modification date (like its tags
        above). An article with a credit keeps it."""
        if not data.get("original_language") or article.original_language:
            return
        if article.translators.exists():
            return
        updated_at = article.updated_at
        for name in ("original_language", "original_title", "original_url"):
            setattr(article, name, data.get(name, ""))
        article.save(update_fields=["original_language", "original_title", "original_url"])
        article.translators.set([authors[slug] for slug in data.get("translators", [])])
        after_edit(article, None, note=_("Contenu de démonstration"))
        Article.objects.filter(pk=article.pk).update(updated_at=updated_at)

    def load_notes(self, content):
        """The editor's note on the demo article in review, once: a note
        resolved or edited since is left as it is."""
        User = get_user_model()
        for data in content["articles"]:
            note = data.get("note")
            if not note:
                continue
            article = Article.objects.filter(slug=data["slug"]).first()
            if article is None or article.notes.exists():
                continue
            ArticleNote.objects.create(
                article=article,
                created_by=User.objects.filter(username=note["by"]).first(),
                text=note["text"],
            )

    def load_newsletter(self):
        """Two newsletters, « L’essentiel » (the default, weekly) and « Alertes »,
        a few issues already sent (the archive) and a draft, and three confirmed
        demo subscribers (example.org addresses: nothing leaves in development)."""
        from django.utils import timezone

        from newsletter.models import (
            Issue,
            IssueArticle,
            Newsletter,
            Subscriber,
            Subscription,
            default_newsletter_id,
        )

        essentiel = Newsletter.objects.get(pk=default_newsletter_id())
        alertes, _created = Newsletter.objects.get_or_create(
            slug="alertes",
            defaults={
                "name": "Alertes",
                "description": "Les nouvelles importantes, dès qu’elles tombent.",
                "position": 2,
            },
        )
        lists = {"amina": [essentiel, alertes], "bakyt": [essentiel], "dinara": [alertes]}
        for name, newsletters in lists.items():
            subscriber, is_new = Subscriber.objects.get_or_create(
                email=f"{name}@example.org",
                defaults={
                    "status": Subscriber.Status.CONFIRMED,
                    "source": "/newsletter/",
                    "confirmed_at": timezone.now(),
                },
            )
            if is_new:
                for newsletter in newsletters:
                    Subscription.objects.get_or_create(
                        subscriber=subscriber,
                        newsletter=newsletter,
                        defaults={
                            "status": Subscription.Status.ACTIVE,
                            "subscribed_at": timezone.now(),
                        },
                    )
        articles = list(Article.objects.published().order_by("-published_at")[:6])
        for newsletter, subject, introduction, picks, sent_on in DEMO_ISSUES:
            # Looked up as stored: subjects get French spacing when saved.
            issue, created = Issue.objects.get_or_create(
                subject=normalize_line(french_spacing(subject)),
                defaults={
                    "newsletter": essentiel if newsletter == "essentiel" else alertes,
                    "introduction": introduction,
                },
            )
            if not created:
                continue
            for position, index in enumerate(picks):
                if index < len(articles):
                    IssueArticle.objects.create(
                        issue=issue, article=articles[index], position=position
                    )
            if sent_on:
                # Shown in the archive as if sent then (no delivery is recorded).
                finished = timezone.make_aware(datetime.fromisoformat(sent_on))
                Issue.objects.filter(pk=issue.pk).update(
                    status=Issue.Status.SENT, queued_at=finished, finished_at=finished
                )

    def create_accounts(self):
        if not (settings.DEBUG or settings.SETTINGS_MODULE.endswith((".development", ".test"))):
            raise CommandError("Les comptes de démonstration ne sont créés qu’en développement.")
        User = get_user_model()
        self.stdout.write("\nComptes de démonstration (développement seulement) :")
        for username, password, superuser, group, byline in DEMO_ACCOUNTS:
            user, is_new = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": superuser}
            )
            if is_new:
                user.set_password(password)
                user.save()
                if group:
                    user.groups.add(Group.objects.get(name=group))
                Author.objects.filter(slug=byline, user__isnull=True).update(user=user)
            role = _("super-utilisateur") if superuser else group
            state = "" if is_new else _(" (compte existant : mot de passe inchangé)")
            self.stdout.write(f"  {username} / {password} — {role}{state}")


def draw_image(seed: str, palette=None) -> tuple[bytes, tuple[float, float]]:
    """A landscape-like picture (sky gradient, sun, mountain ridges), the same
    for the same seed, and its focal point: the sun, which every crop keeps."""
    rng = random.Random(seed)
    top, bottom = (_rgb(color) for color in (palette or ["#1d4e89", "#f2c14e"])[:2])
    width, height = IMAGE_SIZE
    gradient = Image.linear_gradient("L").resize(IMAGE_SIZE)
    image = Image.composite(
        Image.new("RGB", IMAGE_SIZE, bottom), Image.new("RGB", IMAGE_SIZE, top), gradient
    )
    draw = ImageDraw.Draw(image)
    sun_x, sun_y, radius = (
        rng.randint(200, width - 200),
        rng.randint(150, 400),
        rng.randint(60, 110),
    )
    draw.ellipse(
        (sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius),
        fill=_mix(bottom, (255, 255, 255), 0.5),
    )
    for layer in range(4):
        shade = _mix(top, (20, 20, 30), 0.35 + layer * 0.15)
        base = int(height * (0.55 + layer * 0.12))
        points = [(0, height)]
        x = 0
        while x < width:
            points.append((x, base - rng.randint(0, int(height * (0.25 - layer * 0.04)))))
            x += rng.randint(90, 220)
        points += [(width, base - rng.randint(0, 80)), (width, height)]
        draw.polygon(points, fill=shade)
    image = image.filter(ImageFilter.SMOOTH)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=82, optimize=True, progressive=True)
    return output.getvalue(), (round(sun_x / width, 3), round(sun_y / height, 3))


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))


def _mix(a, b, ratio):
    return tuple(round(x * (1 - ratio) + y * ratio) for x, y in zip(a, b, strict=True))
