import csv
import enum
import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from newsroom.admin import CheckedFiltersMixin

from .emails import PREFERENCES_PLACEHOLDER, TOKEN_PLACEHOLDER, render_issue
from .forms import ScheduleForm
from .models import (
    ConsentEvent,
    ConsentText,
    Delivery,
    Issue,
    IssueArticle,
    MailEvent,
    Newsletter,
    Subscriber,
    Subscription,
)
from .sending import send_test, sender_is_running
from .templatetags.newsletter_tags import newsroom_and_paris


def _duration(delta):
    """« 3 h 12 min », « 5 min », for a delay shown to editors (None: None)."""
    if delta is None:
        return None
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [_("%(days)d j") % {"days": days}] if days else []
    parts += [_("%(hours)d h") % {"hours": hours}] if hours else []
    parts.append(_("%(minutes)d min") % {"minutes": minutes})
    return " ".join(parts)


class SendAction(enum.StrEnum):
    """The buttons of an issue's send page (the ``action`` each one posts)."""

    SEND = "send"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"

    # The send page's template reads the members ({{ actions.SEND }}): a
    # class is callable, and templates call what they can unless told not to.
    do_not_call_in_templates = enum.nonmember(True)


class _Echo:
    def write(self, value):
        return value


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet software.
    return f"'{value}" if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def _inert(text):
    """An issue rendered for the staff: its personal links lead nowhere."""
    return text.replace(TOKEN_PLACEHOLDER, "apercu").replace(PREFERENCES_PLACEHOLDER, "apercu")


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_public", "is_default", "position", "subscribers"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_subscribers=Count(
                    "subscriptions",
                    filter=Q(subscriptions__status=Subscription.Status.ACTIVE),
                )
            )
        )

    @admin.display(description=gettext_lazy("abonnés"), ordering="active_subscribers")
    def subscribers(self, obj):
        return obj.active_subscribers


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    fields = ["newsletter", "status", "created_at", "subscribed_at", "left_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # readers choose (signup form, preferences page)

    def has_change_permission(self, request, obj=None):
        return False


class MailEventInline(admin.TabularInline):
    model = MailEvent
    fields = ["at", "kind", "issue", "source", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("retours de messagerie (rebonds, plaintes)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    fields = ["at", "kind", "newsletter", "issue", "source", "consent_text", "ip", "method"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(CheckedFiltersMixin, admin.ModelAdmin):
    list_display = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = [
        "status",
        "subscriptions__newsletter",
        "suppression_reason",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    fields = [
        "email",
        "status",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "source",
        "erased_at",
        "suppressed_at",
        "suppression_reason",
    ]
    readonly_fields = fields
    inlines = [SubscriptionInline, ConsentEventInline, MailEventInline]
    actions = ["export_csv", "export_record", "unsubscribe", "unsuppress", "erase"]

    def has_add_permission(self, request):
        return False  # people subscribe themselves: consent cannot be typed in for them

    def has_delete_permission(self, request, obj=None):
        return False  # erase instead: the consent log keeps an anonymous trace

    @admin.action(description=gettext_lazy("Exporter en CSV"), permissions=["change"])
    def export_csv(self, request, queryset):
        columns = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at", "source"]
        headers = [str(Subscriber._meta.get_field(name).verbose_name) for name in columns]
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff"  # lets spreadsheet software detect UTF-8
            yield writer.writerow(headers)
            for subscriber in queryset.order_by("pk").iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        _spreadsheet_safe(subscriber.email),
                        subscriber.get_status_display(),
                        *(
                            timezone.localtime(value).isoformat(timespec="seconds")
                            if value
                            else ""
                            for value in (
                                subscriber.created_at,
                                subscriber.confirmed_at,
                                subscriber.unsubscribed_at,
                            )
                        ),
                        _spreadsheet_safe(subscriber.source),
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        filename = f"abonnes-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(
        description=gettext_lazy("Exporter le dossier d’un abonné (droit d’accès)"),
        permissions=["change"],
    )
    def export_record(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Choisissez un seul abonné pour exporter son dossier."), messages.ERROR
            )
            return None
        subscriber = queryset.get()
        body = json.dumps(subscriber.consent_record(), ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="abonne-{subscriber.pk}.json"'
        return response

    @admin.action(description=gettext_lazy("Désinscrire"), permissions=["change"])
    def unsubscribe(self, request, queryset):
        count = 0
        for subscriber in queryset.exclude(status=Subscriber.Status.UNSUBSCRIBED):
            subscriber.unsubscribe(ConsentEvent.Method.ADMIN)
            count += 1
        self.message_user(
            request,
            ngettext("%d abonné désinscrit.", "%d abonnés désinscrits.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(
        description=gettext_lazy("Débloquer l’adresse (après rebonds ou plainte)"),
        permissions=["change"],
    )
    def unsuppress(self, request, queryset):
        count = 0
        for subscriber in queryset.filter(suppressed_at__isnull=False):
            reason = subscriber.get_suppression_reason_display()
            subscriber.unsuppress()
            self.log_change(
                request, subscriber, _("Adresse débloquée (%(reason)s)") % {"reason": reason}
            )
            count += 1
        self.message_user(
            request,
            ngettext("%d adresse débloquée.", "%d adresses débloquées.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(
        description=gettext_lazy("Effacer les données (droit à l’effacement)"),
        permissions=["change"],
    )
    def erase(self, request, queryset):
        count = 0
        for subscriber in queryset.filter(erased_at__isnull=True):
            subscriber.erase()
            count += 1
        self.message_user(
            request,
            ngettext(
                "%d abonné effacé : il ne reste qu’une trace anonyme de son consentement.",
                "%d abonnés effacés : il ne reste qu’une trace anonyme de leur consentement.",
                count,
            )
            % count,
            messages.SUCCESS,
        )


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["version", "created_at", "excerpt"]
    fields = ["text"]

    @admin.display(description=gettext_lazy("texte"))
    def excerpt(self, obj):
        return obj.text[:120]

    def get_changeform_initial_data(self, request):
        current = ConsentText.objects.current()
        return {"text": current.text if current else ""}

    def has_change_permission(self, request, obj=None):
        return False  # versions are kept as they were agreed to

    def has_delete_permission(self, request, obj=None):
        return False


class IssueArticleForm(forms.ModelForm):
    class Meta:
        model = IssueArticle
        fields = ["article", "position"]

    def clean_article(self):
        article = self.cleaned_data["article"]
        if not article.is_public:
            raise forms.ValidationError(_("Seuls les articles publiés peuvent figurer ici."))
        return article


class IssueArticleInline(admin.TabularInline):
    model = IssueArticle
    form = IssueArticleForm
    autocomplete_fields = ["article"]
    extra = 3


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["subject", "newsletter", "status", "created_at", "finished_at", "sending"]
    list_filter = ["newsletter", "status"]
    list_select_related = ["newsletter"]
    search_fields = ["subject"]
    fields = ["newsletter", "subject", "introduction"]
    inlines = [IssueArticleInline]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in Issue.NOT_STARTED:
            return False  # what was sent stays as it was sent
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status not in Issue.NOT_STARTED:
            return False  # the archive and the delivery records stay
        return super().has_delete_permission(request, obj)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        default = Newsletter.objects.default()
        if default is not None:
            initial.setdefault("newsletter", default.pk)
        return initial

    def view_on_site(self, obj):
        # Only sent issues have a public page.
        return obj.get_absolute_url() if obj.status == Issue.Status.SENT else None

    @admin.display(description=gettext_lazy("envoi"))
    def sending(self, obj):
        counts = obj.progress() if obj.status not in Issue.NOT_STARTED else None
        return render_to_string(
            "admin/newsletter/issue/_sending.html", {"issue": obj, "counts": counts}
        )

    def get_urls(self):
        def view(function, name):
            return path(
                f"<int:pk>/{name}/",
                self.admin_site.admin_view(function),
                name=f"newsletter_issue_{function.__name__.removesuffix('_view')}",
            )

        return [
            view(self.preview_view, "apercu"),
            view(self.preview_text_view, "apercu-texte"),
            view(self.test_view, "test"),
            view(self.send_view, "envoyer"),
            view(self.progress_view, "envoi"),
            view(self.resume_view, "reprendre"),
            view(self.resend_view, "renvoyer-incertains"),
        ] + super().get_urls()

    def _issue(self, request, pk, send=False, change=False):
        issue = get_object_or_404(Issue, pk=pk)
        if not self.has_view_permission(request, issue):
            raise PermissionDenied
        if change and not request.user.has_perm("newsletter.change_issue"):
            raise PermissionDenied
        if send and not request.user.has_perm("newsletter.send_issue"):
            raise PermissionDenied
        return issue

    def preview_view(self, request, pk):
        """The HTML email as subscribers will see it (its unsubscribe link inert)."""
        issue = self._issue(request, pk)
        html = _inert(render_issue(issue)["html"])
        return HttpResponse(html)

    def preview_text_view(self, request, pk):
        issue = self._issue(request, pk)
        text = _inert(render_issue(issue)["text"])
        return HttpResponse(text, content_type="text/plain; charset=utf-8")

    def test_view(self, request, pk):
        issue = self._issue(request, pk, change=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.email:
            self.message_user(
                request,
                _("Votre compte n’a pas d’adresse e-mail : ajoutez-en une pour recevoir le test."),
                messages.ERROR,
            )
        else:
            try:
                send_test(issue, request.user)
            except Exception as error:  # the mail server's refusal, whatever its kind
                self.message_user(
                    request,
                    _("Le test n’a pas pu être envoyé : %(error)s") % {"error": error},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    _("Test envoyé à %(email)s.") % {"email": request.user.email},
                    messages.SUCCESS,
                )
        if issue.status == Issue.Status.DRAFT:
            return redirect("admin:newsletter_issue_change", pk)
        return redirect("admin:newsletter_issue_progress", pk)

    def send_view(self, request, pk):
        """Send now, or schedule (and reschedule, or unschedule) until sending
        starts. Returns at once: the worker sends."""
        issue = self._issue(request, pk, send=True)
        if issue.status not in Issue.NOT_STARTED:
            return redirect("admin:newsletter_issue_progress", pk)
        if not issue.items():
            self.message_user(
                request, _("Ajoutez au moins un article publié avant d’envoyer."), messages.ERROR
            )
            return redirect("admin:newsletter_issue_change", pk)
        local = timezone.localtime(issue.scheduled_at) if issue.scheduled_at else None
        schedule_form = ScheduleForm(initial={"send_at": local})
        status = 200
        if request.method == "POST":
            action = request.POST.get("action", SendAction.SEND)
            if action == SendAction.UNSCHEDULE:
                if issue.unschedule():
                    self.message_user(
                        request,
                        _("Envoi déprogrammé : la newsletter est revenue à l’état de brouillon."),
                        messages.SUCCESS,
                    )
                    return redirect("admin:newsletter_issue_change", pk)
                return redirect("admin:newsletter_issue_progress", pk)
            if action == SendAction.SCHEDULE:
                schedule_form = ScheduleForm(request.POST)
                if schedule_form.is_valid():
                    send_at = schedule_form.cleaned_data["send_at"]
                    if not issue.schedule(send_at, request.user):
                        return redirect("admin:newsletter_issue_progress", pk)
                    self.message_user(
                        request,
                        _("Envoi programmé : %(when)s.") % {"when": newsroom_and_paris(send_at)},
                        messages.SUCCESS,
                    )
                    return redirect("admin:newsletter_issue_change", pk)
            elif action == SendAction.SEND:
                count = issue.queue(request.user)
                if count is not None:  # None: someone else started it meanwhile
                    self.message_user(
                        request,
                        ngettext(
                            "Envoi lancé vers %d abonné.", "Envoi lancé vers %d abonnés.", count
                        )
                        % count,
                        messages.SUCCESS,
                    )
                return redirect("admin:newsletter_issue_progress", pk)
            else:
                self.message_user(
                    request,
                    _("Cette action n’existe pas : utilisez les boutons de cette page."),
                    messages.ERROR,
                )
                status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "issue": issue,
            "recipients": Subscriber.objects.recipients_of(issue.newsletter_id).count(),
            "schedule_form": schedule_form,
            "actions": SendAction,
            "zone": settings.TIME_ZONE.rsplit("/", 1)[-1],
            "title": _("Envoyer « %(subject)s »") % {"subject": issue.subject},
        }
        return TemplateResponse(
            request, "admin/newsletter/issue/send.html", context, status=status
        )

    def progress_view(self, request, pk):
        issue = self._issue(request, pk)
        counts = issue.progress()
        running = sender_is_running(issue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "issue": issue,
            "counts": counts,
            "running": running,
            "stalled": not running and issue.status == Issue.Status.SENDING,
            "feedback": issue.feedback(),
            "late_by": _duration(issue.late_by()),
            "can_send": request.user.has_perm("newsletter.send_issue"),
            "failures": issue.deliveries.filter(status=Delivery.Status.FAILED)
            .select_related("subscriber")
            .order_by("pk")[:50],
            "title": _("Envoi de « %(subject)s »") % {"subject": issue.subject},
        }
        return TemplateResponse(request, "admin/newsletter/issue/progress.html", context)

    def resume_view(self, request, pk):
        """Resume a send stopped with its worker, or paused by the guardrails
        (then it goes to its end without pausing again)."""
        issue = self._issue(request, pk, send=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        issue.resume()
        self.message_user(request, _("L’envoi reprend."), messages.SUCCESS)
        return redirect("admin:newsletter_issue_progress", pk)

    def resend_view(self, request, pk):
        issue = self._issue(request, pk, send=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        count = issue.resend_uncertain()
        if issue.status == Issue.Status.PAUSED:
            message = ngettext(
                "%d envoi incertain remis en file ; l’envoi reste suspendu : il partira "
                "quand vous le reprendrez.",
                "%d envois incertains remis en file ; l’envoi reste suspendu : ils partiront "
                "quand vous le reprendrez.",
                count,
            )
        else:
            message = ngettext(
                "%d envoi incertain remis en file.", "%d envois incertains remis en file.", count
            )
        self.message_user(request, message % count, messages.SUCCESS)
        return redirect("admin:newsletter_issue_progress", pk)
