import enum
from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import OuterRef, Prefetch, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from newsroom.admin import CheckedFiltersMixin

from . import revisions
from .forms import ArticleAdminForm, ArticleNoteForm, CorrectionForm, PreviewLinkForm
from .models import (
    Article,
    ArticleNote,
    ArticleRedirect,
    ArticleRevision,
    Author,
    Correction,
    PreviewLink,
    ReadCount,
    Section,
    SpellingVariantGroup,
    Tag,
)
from .renditions import CROPS
from .tasks import mail_sent_back_note_task

PARIS = ZoneInfo("Europe/Paris")


class NotePurpose(enum.StrEnum):
    """What the note page is for."""

    SEND_BACK = "send_back"  # an editor sends articles back to their authors
    ADD = "add"  # a note the article's page refused, to correct

    # The note template compares against members: it must not call the class.
    do_not_call_in_templates = enum.nonmember(True)


def is_editor(user):
    return user.has_perm("articles.publish_article")


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    """Journalists may add bylines and edit those that no public article carries
    yet (an editor reviews them with the article); only editors change a public
    author page or bind a byline to an account."""

    list_display = ["name", "slug", "user"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return [] if is_editor(request.user) else ["user"]

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or is_editor(request.user) or not self._is_public(obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or is_editor(request.user) or not self._is_public(obj)

    @staticmethod
    def _is_public(author):
        return Author.objects.public().filter(pk=author.pk).exists()


class Stage(models.TextChoices):
    """Where an article stands, as the article list shows and filters it: a
    published article is « programmé » until its time (scheduled()), then « en
    ligne » (published())."""

    DRAFT = Article.Status.DRAFT.value, Article.Status.DRAFT.label
    REVIEW = Article.Status.REVIEW.value, Article.Status.REVIEW.label
    SCHEDULED = "scheduled", gettext_lazy("Programmé")
    LIVE = "live", gettext_lazy("En ligne")

    @classmethod
    def of(cls, article):
        if article.status != Article.Status.PUBLISHED:
            return cls(article.status)
        return cls.SCHEDULED if article.is_scheduled else cls.LIVE


# The list's badge colours (GNOME's palette: grey, orange, blue, green).
STAGE_COLOURS = {
    Stage.DRAFT: "#77767b",
    Stage.REVIEW: "#c64600",
    Stage.SCHEDULED: "#1a5fb4",
    Stage.LIVE: "#26a269",
}


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("statut")
    parameter_name = "etat"

    def lookups(self, request, model_admin):
        return Stage.choices

    def queryset(self, request, queryset):
        match self.value():
            case Stage.DRAFT | Stage.REVIEW:
                return queryset.filter(status=self.value())
            case Stage.SCHEDULED:
                return queryset.scheduled()
            case Stage.LIVE:
                return queryset.published()
        return queryset


class CorrectionInline(admin.TabularInline):
    model = Correction
    form = CorrectionForm
    extra = 0
    verbose_name_plural = gettext_lazy("Corrections (affichées en fin d’article)")

    def has_add_permission(self, request, obj=None):
        return is_editor(request.user) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return is_editor(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_editor(request.user) and super().has_delete_permission(request, obj)


class PreviewLinkInline(admin.TabularInline):
    model = PreviewLink
    form = PreviewLinkForm
    extra = 0
    fields = ["recipient", "link", "created_by", "created_at", "state", "revoke"]
    readonly_fields = ["link", "created_by", "created_at", "state"]
    verbose_name_plural = gettext_lazy(
        "Liens d’aperçu à partager (pour une personne sans compte ; ils cessent de "
        "fonctionner à la publication)"
    )

    @admin.display(description=gettext_lazy("lien"))
    def link(self, obj):
        if not obj.pk:
            return _("créé à l’enregistrement")
        url = settings.SITE_URL + obj.get_absolute_url()
        return format_html('<input type="text" readonly value="{}" size="45">', url)

    @admin.display(description=gettext_lazy("état"))
    def state(self, obj):
        if obj.has_ended:
            return _("terminé")
        if obj.revoked_at:
            return _("actif jusqu’à la publication, le %(date)s") % {
                "date": timezone.localtime(obj.revoked_at).strftime("%d/%m/%Y %H:%M")
            }
        return _("actif") if obj.pk else ""

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record shows who had access

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        editable = obj is None or obj.can_be_edited_by(request.user)
        if not (editable and self.has_change_permission(request, obj)):
            # Read-only: no box to tick (Django would title it « Revoke »).
            return [name for name in fields if name != "revoke"]
        return fields


@admin.register(Article)
class ArticleAdmin(CheckedFiltersMixin, admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = [
        "title",
        "section",
        "status_badge",
        "publication",
        "bylines",
        "reads_day",
        "reads_week",
        "updated_at",
    ]
    list_filter = [
        StatusFilter,
        "section",
        ("authors", admin.RelatedOnlyFieldListFilter),
        ("published_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["section"]
    search_fields = ["title", "standfirst"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["authors", "tags", "translators"]
    actions = ["submit_for_review", "send_back", "publish", "unpublish"]
    fieldsets = [
        (None, {"fields": [*revisions.TEXT, "loaded_version"]}),
        (gettext_lazy("Image principale"), {"fields": [*revisions.IMAGE, "focal_point"]}),
        (gettext_lazy("Classement et signature"), {"fields": revisions.PLACEMENT}),
        (
            gettext_lazy("Traduction"),
            {
                "fields": revisions.TRANSLATION,
                "classes": ["collapse"],
                "description": gettext_lazy(
                    "Pour un article traduit d’une autre langue : la page crédite les "
                    "traducteurs et renvoie à l’original."
                ),
            },
        ),
        (gettext_lazy("Publication"), {"fields": revisions.PUBLICATION}),
    ]
    inlines = [CorrectionInline, PreviewLinkInline]
    view_on_site = True

    class Media:
        css = {"all": ["css/admin.css"]}
        js = ["js/focal-point.js"]

    # Who may do what -----------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.can_be_edited_by(request.user)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or obj.can_be_deleted_by(request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_editor(request.user):
            # Bulk deletion checks no article one by one: editors only.
            for name in ("delete_selected", "send_back", "publish", "unpublish"):
                actions.pop(name, None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        if is_editor(request.user):
            return ["focal_point"]
        return ["focal_point", "published_at", "is_featured"]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status" and not is_editor(request.user):
            # Journalists write and submit; publishing is the editors' call. The
            # form refuses any other value, whatever is posted.
            kwargs["choices"] = [
                (Article.Status.DRAFT, Article.Status.DRAFT.label),
                (Article.Status.REVIEW, Article.Status.REVIEW.label),
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_inlines(self, request, obj):
        if obj is not None and obj.status == Article.Status.PUBLISHED:
            return [CorrectionInline, PreviewLinkInline]
        return [PreviewLinkInline]

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("authors", queryset=Author.objects.only("name")),
                # The list's « notes à régler » column: one query per page.
                Prefetch(
                    "notes",
                    queryset=ArticleNote.objects.open().select_related("created_by"),
                    to_attr="open_notes",
                ),
            )
            .annotate(
                reads_day=self._reads_since(now - timedelta(days=1)),
                reads_week=self._reads_since(now - timedelta(days=7)),
            )
        )

    @staticmethod
    def _reads_since(moment):
        total = (
            ReadCount.objects.since(moment)
            .filter(article=OuterRef("pk"))
            .values("article")
            .annotate(total=Sum("count"))
            .values("total")
        )
        return Coalesce(Subquery(total), 0)

    def get_list_display(self, request):
        if request.user.has_perm("articles.view_articlenote"):
            return [*self.list_display, "open_notes"]
        return self.list_display

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == "issuearticle":
            # A newsletter offers published articles only.
            queryset = queryset & Article.objects.published()
        return queryset, may_have_duplicates

    # Saving ------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            for instance in formset.new_objects:
                if hasattr(instance, "created_by_id") and instance.created_by_id is None:
                    instance.created_by = request.user
                    instance.save(update_fields=["created_by"])
        revisions.after_edit(form.instance, request.user, created=not change)

    @admin.display(description=gettext_lazy("point d’intérêt"))
    def focal_point(self, obj):
        """The picker that sets hero_focal_x/y, with previews of the crops."""
        return render_to_string(
            "admin/articles/article/focal_point.html",
            {
                "image_url": obj.hero_image.url if obj is not None and obj.hero_image else "",
                # repr: every digit, so that the previews crop as renditions.py does.
                "crops": [
                    {"ratio": repr(crop.ratio), "label": crop.label} for crop in CROPS.values()
                ],
            },
        )

    # List columns -----------------------------------------------------------------

    @admin.display(description=gettext_lazy("statut"), ordering="status")
    def status_badge(self, obj):
        stage = Stage.of(obj)
        return format_html(
            '<span style="display:inline-block;padding:1px 8px;border-radius:10px;'
            'color:#fff;background:{};font-weight:600;white-space:nowrap">{}</span>',
            STAGE_COLOURS[stage],
            stage.label,
        )

    @admin.display(description=gettext_lazy("publication"), ordering="published_at")
    def publication(self, obj):
        if obj.published_at is None:
            return "—"
        local = timezone.localtime(obj.published_at)
        text = local.strftime("%d/%m/%Y %H:%M")
        if obj.is_scheduled:
            paris = obj.published_at.astimezone(PARIS)
            zone = settings.TIME_ZONE.rsplit("/", 1)[-1]
            return format_html(
                "{} ({})<br><small>{} (Paris)</small>",
                text,
                zone,
                paris.strftime("%d/%m/%Y %H:%M"),
            )
        return text

    @admin.display(description=gettext_lazy("lectures (24 h)"), ordering="reads_day")
    def reads_day(self, obj):
        return obj.reads_day

    @admin.display(description=gettext_lazy("lectures (7 jours)"), ordering="reads_week")
    def reads_week(self, obj):
        return obj.reads_week

    @admin.display(description=gettext_lazy("signatures"))
    def bylines(self, obj):
        return ", ".join(author.name for author in obj.authors.all())

    @admin.display(description=gettext_lazy("notes à régler"))
    def open_notes(self, obj):
        notes = getattr(obj, "open_notes", None)
        if not notes:
            return ""
        return render_to_string(
            "admin/articles/article/_open_notes.html", {"notes": notes, "last": notes[-1]}
        )

    # Actions ------------------------------------------------------------------------

    def _set_status(self, request, article, status, note, only_from=None):
        """Give the article ``status`` (if it is still in ``only_from``, when
        given). Returns the article saved, or None when it was not."""
        # Locked and saving only these fields: an edit saved meanwhile is kept
        # (and, the version having moved, a stale form is still refused).
        with transaction.atomic():
            locked = Article.objects.select_for_update().get(pk=article.pk)
            if only_from is not None and locked.status != only_from:
                return None
            locked.status = status
            locked.updated_by = request.user
            locked.save(update_fields=["status", "published_at", "updated_by"])
            revisions.after_edit(locked, request.user, note=note)
            return locked

    @admin.action(description=gettext_lazy("Soumettre à la relecture"))
    def submit_for_review(self, request, queryset):
        done, refused = 0, []
        for article in queryset.filter(status=Article.Status.DRAFT):
            if not article.can_be_edited_by(request.user):
                refused.append(article.title)
                continue
            self._set_status(request, article, Article.Status.REVIEW, _("Soumis à la relecture"))
            done += 1
        self._report(request, done, refused, _("vous ne pouvez pas modifier ces articles"))

    @admin.action(description=gettext_lazy("Publier (ou programmer si la date est future)"))
    def publish(self, request, queryset):
        if not is_editor(request.user):
            raise PermissionDenied
        done = 0
        for article in queryset.exclude(status=Article.Status.PUBLISHED).prefetch_related(
            "authors"
        ):
            problems = article.publication_problems()
            if problems:
                self.message_user(
                    request,
                    format_html(
                        "« {} » {} <ul>{}</ul>",
                        article.title,
                        _("n’a pas été publié :"),
                        format_html_join("", "<li>{}</li>", ((p,) for p in problems.values())),
                    ),
                    messages.ERROR,
                )
                continue
            self._set_status(request, article, Article.Status.PUBLISHED, _("Publié"))
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("%d article publié.", "%d articles publiés.", done) % done,
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Dépublier (repasser en brouillon)"))
    def unpublish(self, request, queryset):
        if not is_editor(request.user):
            raise PermissionDenied
        done = 0
        for article in queryset.exclude(status=Article.Status.DRAFT):
            self._set_status(request, article, Article.Status.DRAFT, _("Dépublié"))
            done += 1
        self.message_user(
            request,
            ngettext(
                "%d article repassé en brouillon.", "%d articles repassés en brouillon.", done
            )
            % done,
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Renvoyer à l’auteur avec une note"))
    def send_back(self, request, queryset):
        """Articles in review go back to draft with the editor's note, mailed to
        their authors. An intermediate page asks for the note."""
        if not is_editor(request.user):
            raise PermissionDenied
        articles = list(queryset.filter(status=Article.Status.REVIEW))
        if not articles:
            self.message_user(
                request,
                _("Seuls les articles en relecture peuvent être renvoyés à leur auteur."),
                messages.WARNING,
            )
            return None
        form = ArticleNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._send_back(request, articles, form.cleaned_data["text"])
            return None
        return self._note_page(
            request, form, articles, purpose=NotePurpose.SEND_BACK, from_action=True
        )

    def _send_back(self, request, articles, text):
        sent, skipped, unreachable = 0, [], []
        for article in articles:
            with transaction.atomic():
                locked = self._set_status(
                    request,
                    article,
                    Article.Status.DRAFT,
                    _("Renvoyé à l’auteur avec une note"),
                    only_from=Article.Status.REVIEW,
                )
                if locked is None:  # published or sent back meanwhile
                    skipped.append(article.title)
                    continue
                note = ArticleNote.objects.create(
                    article=locked, created_by=request.user, text=text
                )
                if not note.recipients().exists():
                    unreachable.append(article.title)
                # Queued at commit: a worker must find the note it is given.
                transaction.on_commit(partial(mail_sent_back_note_task.enqueue, note.pk))
            sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%d article renvoyé en brouillon ; ses auteurs reçoivent votre note.",
                    "%d articles renvoyés en brouillon ; leurs auteurs reçoivent votre note.",
                    sent,
                )
                % sent,
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                _("Plus en relecture, donc non renvoyés : %(titles)s")
                % {"titles": ", ".join(skipped)},
                messages.WARNING,
            )
        if unreachable:
            self.message_user(
                request,
                _(
                    "Aucun auteur n’a de compte avec une adresse e-mail pour : %(titles)s. "
                    "La note est sur l’article ; prévenez-les autrement."
                )
                % {"titles": ", ".join(unreachable)},
                messages.WARNING,
            )

    def _report(self, request, done, refused, reason):
        if done:
            self.message_user(
                request,
                ngettext("%d article soumis.", "%d articles soumis.", done) % done,
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("Non soumis (%(reason)s) : %(titles)s")
                % {"reason": reason, "titles": ", ".join(refused)},
                messages.WARNING,
            )

    # History -------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/versions/",
                self.admin_site.admin_view(self.revisions_view),
                name="articles_article_revisions",
            ),
            path(
                "<int:pk>/versions/<int:revision_pk>/restaurer/",
                self.admin_site.admin_view(self.restore_view),
                name="articles_article_restore",
            ),
            path(
                "<int:pk>/apercu/",
                self.admin_site.admin_view(self.preview_view),
                name="articles_article_preview",
            ),
            path(
                "<int:pk>/notes/",
                self.admin_site.admin_view(self.add_note_view),
                name="articles_article_add_note",
            ),
            path(
                "<int:pk>/notes/<int:note_pk>/reglee/",
                self.admin_site.admin_view(self.resolve_note_view),
                name="articles_article_resolve_note",
            ),
            path(
                "<int:pk>/renvoyer/",
                self.admin_site.admin_view(self.send_back_view),
                name="articles_article_send_back",
            ),
        ] + super().get_urls()

    def revisions_view(self, request, pk):
        article = get_object_or_404(Article, pk=pk)
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        history = list(article.revisions.select_related("created_by"))
        since = request.GET.get("depuis", "")
        valid = since.isascii() and since.isdigit() and len(since) < 10
        comparison = revisions.compare_revisions(history, since if valid else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "article": article,
            "revisions": history,
            "comparison": comparison,
            "can_restore": is_editor(request.user),
            "title": _("Versions de « %(title)s »") % {"title": article.title},
        }
        return TemplateResponse(request, "admin/articles/article/revisions.html", context)

    def restore_view(self, request, pk, revision_pk):
        if not is_editor(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        with transaction.atomic():
            article = get_object_or_404(Article.objects.select_for_update(), pk=pk)
            revision = get_object_or_404(ArticleRevision, pk=revision_pk, article=article)
            problems = revisions.restore(article, revision, request.user)
        if problems:
            messages.warning(request, problems)
        else:
            messages.success(
                request,
                _("La version %(version)s a été restaurée (une nouvelle version a été créée).")
                % {"version": revision.version},
            )
        return redirect(reverse("admin:articles_article_change", args=[article.pk]))

    # Review notes --------------------------------------------------------------------
    # Notes have their own views rather than an inline: whoever may view an
    # article may write one, also when the article's form is read-only to them
    # (a journalist's article in review).

    def _may_see_notes(self, request, article):
        return request.user.has_perm(
            "articles.view_articlenote"
        ) and self.has_view_or_change_permission(request, article)

    def _may_add_note(self, request, article):
        return request.user.has_perm("articles.add_articlenote") and self._may_see_notes(
            request, article
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self._may_see_notes(request, obj):
            notes = list(obj.notes.select_related("created_by", "resolved_by"))
            for note in notes:
                note.resolvable = note.can_be_resolved_by(request.user)
            context.update(
                notes_shown=True,
                notes=notes,
                open_note_count=sum(not note.is_resolved for note in notes),
                note_form=ArticleNoteForm() if self._may_add_note(request, obj) else None,
                can_send_back=is_editor(request.user) and obj.status == Article.Status.REVIEW,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _note_page(self, request, form, articles, purpose, from_action=False):
        """The page that asks for a note: to send articles back (``send_back``),
        or to correct a note the article's page refused (``add``)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Renvoyer à l’auteur avec une note")
            if purpose == NotePurpose.SEND_BACK
            else _("Ajouter une note"),
            "form": form,
            "articles": articles,
            "purpose": purpose,
            "NotePurpose": NotePurpose,
            "from_action": from_action,
        }
        return TemplateResponse(request, "admin/articles/article/note_form.html", context)

    def _notes_of(self, article):
        return reverse("admin:articles_article_change", args=[article.pk]) + "#notes"

    def add_note_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        article = get_object_or_404(Article, pk=pk)
        if not self._may_add_note(request, article):
            raise PermissionDenied
        form = ArticleNoteForm(request.POST)
        if not form.is_valid():
            return self._note_page(request, form, [article], purpose=NotePurpose.ADD)
        ArticleNote.objects.create(
            article=article, created_by=request.user, text=form.cleaned_data["text"]
        )
        messages.success(request, _("Note ajoutée."))
        return redirect(self._notes_of(article))

    def resolve_note_view(self, request, pk, note_pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        note = get_object_or_404(
            ArticleNote.objects.select_related("article"), pk=note_pk, article=pk
        )
        if not self._may_see_notes(request, note.article):
            raise PermissionDenied
        if note.is_resolved:
            return redirect(self._notes_of(note.article))
        if not note.can_be_resolved_by(request.user):
            raise PermissionDenied
        note.resolve(request.user)
        messages.success(request, _("Note marquée comme réglée."))
        return redirect(self._notes_of(note.article))

    def send_back_view(self, request, pk):
        """Send one article back to its author with a note, from its page."""
        if not is_editor(request.user):
            raise PermissionDenied
        article = get_object_or_404(Article, pk=pk)
        if article.status != Article.Status.REVIEW:
            messages.warning(
                request, _("Cet article n’est pas en relecture : il n’y a rien à renvoyer.")
            )
            return redirect(reverse("admin:articles_article_change", args=[article.pk]))
        form = ArticleNoteForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            self._send_back(request, [article], form.cleaned_data["text"])
            changelist = reverse("admin:articles_article_changelist")
            return redirect(f"{changelist}?etat={Stage.REVIEW}")
        return self._note_page(request, form, [article], purpose=NotePurpose.SEND_BACK)

    def preview_view(self, request, pk):
        from .views import render_article_preview

        article = get_object_or_404(Article, pk=pk)
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        return render_article_preview(request, article)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug"]
    list_filter = ["kind"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(SpellingVariantGroup)
class SpellingVariantGroupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "note"]
    search_fields = ["spellings", "note"]


@admin.register(ArticleRedirect)
class ArticleRedirectAdmin(admin.ModelAdmin):
    list_display = ["old_slug", "article", "created_at"]
    search_fields = ["old_slug", "article__title"]
    list_select_related = ["article"]

    def has_add_permission(self, request):
        return False  # created automatically when a published article's address changes

    def has_change_permission(self, request, obj=None):
        return False
