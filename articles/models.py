from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import RichTextField, SafeImageField
from .sanitizer import html_to_text

NAVIGATION_CACHE_KEY = "articles:navigation"


class SectionQuerySet(models.QuerySet):
    def navigation(self):
        """Sections in navigation order, cached: every page shows them."""
        sections = cache.get(NAVIGATION_CACHE_KEY)
        if sections is None:
            sections = list(self.order_by("position", "name"))
            cache.set(NAVIGATION_CACHE_KEY, sections, 300)
        return sections


class Section(models.Model):
    name = models.CharField(_("nom"), max_length=100)
    slug = models.SlugField(
        _("identifiant d’URL"),
        max_length=100,
        unique=True,
        help_text=_("La fin de l’adresse de la rubrique : lettres, chiffres et tirets."),
    )
    description = models.TextField(
        _("description"),
        blank=True,
        help_text=_("Une phrase ou deux, affichées en tête de la page de la rubrique."),
    )
    position = models.PositiveSmallIntegerField(
        _("position"),
        default=0,
        help_text=_("Ordre dans le menu : les plus petits nombres viennent en premier."),
    )

    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("rubrique")
        verbose_name_plural = _("rubriques")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        cache.delete(NAVIGATION_CACHE_KEY)

    def get_absolute_url(self):
        return reverse("articles:section-detail", args=[self.slug])

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        cache.delete(NAVIGATION_CACHE_KEY)
        return result


class Author(models.Model):
    name = models.CharField(_("nom"), max_length=150)
    slug = models.SlugField(_("identifiant d’URL"), max_length=150, unique=True)
    bio = models.TextField(
        _("présentation"), blank=True, help_text=_("Quelques lignes sur l’auteur, publiques.")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="author_profile",
        help_text=_(
            "Le compte d’administration de cette personne, s’il existe. Une signature "
            "n’en a pas besoin (pigiste, invité)."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("auteur")
        verbose_name_plural = _("auteurs")

    def __str__(self):
        return self.name


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The one visibility rule: published, and the publication time has come."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def in_section(self, section):
        return self.filter(section=section)

    def for_listing(self):
        """What article cards need, in a constant number of queries."""
        return self.select_related("section")

    def latest(self):
        return self.order_by("-published_at", "-pk")


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        PUBLISHED = "published", _("Publié")

    title = models.CharField(_("titre"), max_length=200)
    slug = models.SlugField(
        _("identifiant d’URL"),
        max_length=200,
        unique=True,
        help_text=_("La fin de l’adresse de l’article, proposée d’après le titre."),
    )
    standfirst = models.TextField(
        _("chapô"),
        help_text=_("Un paragraphe qui résume l’article, en texte simple, sous le titre."),
    )
    body = RichTextField(_("texte"), blank=True)
    hero_image = SafeImageField(
        _("image principale"),
        upload_to="articles/%Y/%m/",
        width_field="hero_image_width",
        height_field="hero_image_height",
        blank=True,
        help_text=_("JPEG, PNG, WebP ou GIF. Affichée en tête de l’article et dans les listes."),
    )
    hero_image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_image_alt = models.CharField(
        _("texte alternatif de l’image"),
        max_length=300,
        blank=True,
        help_text=_("Ce que montre l’image, pour les lecteurs qui ne la voient pas."),
    )
    hero_image_caption = models.CharField(
        _("légende"),
        max_length=300,
        blank=True,
        help_text=_("Affichée sous l’image : nommez les personnes et le lieu."),
    )
    hero_image_credit = models.CharField(
        _("crédit"), max_length=150, blank=True, help_text=_("Photographe ou agence.")
    )
    section = models.ForeignKey(
        Section, verbose_name=_("rubrique"), on_delete=models.PROTECT, related_name="articles"
    )
    authors = models.ManyToManyField(
        Author, verbose_name=_("auteurs"), related_name="articles", blank=True
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(
        _("date de publication"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_(
            "Vide : l’heure de la publication. Dans le futur : l’article devient public "
            "à cette heure-là."
        ),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_public_idx"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:article-detail", args=[self.slug])

    @property
    def is_public(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    def body_text(self):
        return html_to_text(self.body)
