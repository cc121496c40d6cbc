from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from newsroom.admin import CheckedFiltersMixin

from . import revisions
from .forms import ArticleAdminForm, CorrectionForm, PreviewLinkForm
from .models import (
    Article,
    ArticleRedirect,
    ArticleRevision,
    Author,
    Correction,
    PreviewLink,
    Section,
    SpellingVariantGroup,
    Tag,
)

PARIS = ZoneInfo("Europe/Paris")


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


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("statut")
    parameter_name = "etat"

    def lookups(self, request, model_admin):
        return [
            (Article.Status.DRAFT, Article.Status.DRAFT.label),
            (Article.Status.REVIEW, Article.Status.REVIEW.label),
            ("scheduled", _("Programmé")),
            ("live", _("En ligne")),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case Article.Status.DRAFT | Article.Status.REVIEW:
                return queryset.filter(status=self.value())
            case "scheduled":
                return queryset.scheduled()
            case "live":
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


@admin.register(Article)
class ArticleAdmin(CheckedFiltersMixin, admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ["title", "section", "status_badge", "publication", "bylines", "updated_at"]
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
    actions = ["submit_for_review", "publish", "unpublish"]
    fieldsets = [
        (None, {"fields": [*revisions.TEXT, "loaded_version"]}),
        (gettext_lazy("Image principale"), {"fields": revisions.IMAGE}),
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
            for name in ("delete_selected", "publish", "unpublish"):
                actions.pop(name, None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        if is_editor(request.user):
            return []
        return ["published_at", "is_featured"]

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
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("authors", queryset=Author.objects.only("name")))
        )

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

    # List columns -----------------------------------------------------------------

    @admin.display(description=gettext_lazy("statut"), ordering="status")
    def status_badge(self, obj):
        if obj.is_scheduled:
            label, color = _("Programmé"), "#1a5fb4"
        elif obj.status == Article.Status.PUBLISHED:
            label, color = _("En ligne"), "#26a269"
        elif obj.status == Article.Status.REVIEW:
            label, color = _("En relecture"), "#c64600"
        else:
            label, color = _("Brouillon"), "#77767b"
        return format_html(
            '<span style="display:inline-block;padding:1px 8px;border-radius:10px;'
            'color:#fff;background:{};font-weight:600;white-space:nowrap">{}</span>',
            color,
            label,
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

    @admin.display(description=gettext_lazy("signatures"))
    def bylines(self, obj):
        return ", ".join(author.name for author in obj.authors.all())

    # Actions ------------------------------------------------------------------------

    def _set_status(self, request, article, status, note):
        # Locked and saving only these fields: an edit saved meanwhile is kept
        # (and, the version having moved, a stale form is still refused).
        with transaction.atomic():
            locked = Article.objects.select_for_update().get(pk=article.pk)
            locked.status = status
            locked.updated_by = request.user
            locked.save(update_fields=["status", "published_at", "updated_by"])
            revisions.after_edit(locked, request.user, note=note)

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
