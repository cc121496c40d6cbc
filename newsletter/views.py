import logging

from anymail.exceptions import AnymailConfigurationError
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from newsroom.views import client_ip, csrf_failure, posted_from_this_site

from .forms import PreferencesForm, SubscribeForm
from .models import (
    CONFIRMATION_MAX_AGE,
    ConsentEvent,
    Issue,
    Newsletter,
    SignupAttempt,
    SignupOutcome,
    SignupRequest,
    Subscriber,
    Subscription,
    truncate_ip,
)
from .tasks import process_signup_task, send_confirmation_task

logger = logging.getLogger(__name__)


def link_invalid(request, purpose):
    """The page for a signed link that no longer works (or never did): what
    to do next depends on the link's purpose."""
    context = {"purpose": purpose, "TokenPurpose": Subscriber.TokenPurpose}
    return render(request, "newsletter/link_invalid.html", context, status=400)


def too_many(request):
    response = render(request, "newsletter/throttled.html", status=429)
    response["Retry-After"] = "3600"
    return response


@csrf_exempt  # checked by posted_from_this_site(): the pages carrying it set no cookie
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    """The signup form. Every valid address gets the same answer, whether it is
    new, pending, confirmed, unsubscribed or already asked for today: nobody can
    probe who subscribes.
    Bots that fill the hidden field or post at once get that answer too, and
    nothing is stored or sent."""
    if request.method != "POST":
        form = SubscribeForm(initial={"source": request.GET.get("source", "")})
        return render(request, "newsletter/subscribe.html", {"form": form})
    if not posted_from_this_site(request):
        return csrf_failure(request)
    ip = client_ip(request)
    if SignupAttempt.objects.record(ip) > settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR:
        return too_many(request)
    form = SubscribeForm(request.POST)
    valid = form.is_valid()
    if form.looks_automated:
        return redirect("newsletter:subscribe-done")
    if not valid:
        return render(request, "newsletter/subscribe.html", {"form": form}, status=400)
    # Everything that depends on the address (its state, the 24-hour limit, the
    # email) happens in the worker: the answer is the same, and takes the same
    # work, for every address, so neither it nor its timing tells who subscribes.
    signup = SignupRequest.objects.create(
        email=form.cleaned_data["email"],
        source=form.cleaned_data["source"],
        ip=truncate_ip(ip),
        newsletter_ids=[newsletter.pk for newsletter in form.cleaned_data["newsletters"]],
    )
    process_signup_task.enqueue(signup.pk)
    return redirect("newsletter:subscribe-done")


@require_safe
def subscribe_done(request):
    return render(request, "newsletter/subscribe_done.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """GET shows a button; only the POST confirms, so that mail scanners which
    follow links confirm nothing."""
    subscriber = Subscriber.objects.from_token(
        token, Subscriber.TokenPurpose.CONFIRM, max_age=CONFIRMATION_MAX_AGE
    )
    if subscriber is None or not subscriber.confirmation_link_is_current(token):
        return link_invalid(request, Subscriber.TokenPurpose.CONFIRM)
    if request.method == "POST":
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            if not subscriber.confirmation_link_is_current(token):
                # Withdrawn while this page was open.
                return link_invalid(request, Subscriber.TokenPurpose.CONFIRM)
            if (
                subscriber.status != Subscriber.Status.CONFIRMED
                or subscriber.newsletters_in(Subscription.Status.PENDING).exists()
            ):
                subscriber.confirm(ip=client_ip(request))
        return render(
            request,
            "newsletter/confirm_done.html",
            {
                "subscriber": subscriber,
                "newsletters": subscriber.newsletters_in(Subscription.Status.ACTIVE),
                "preferences_url": reverse(
                    "newsletter:preferences",
                    args=[subscriber.make_token(Subscriber.TokenPurpose.PREFERENCES)],
                ),
            },
        )
    return render(
        request,
        "newsletter/confirm.html",
        {
            "subscriber": subscriber,
            "pending": list(subscriber.newsletters_in(Subscription.Status.PENDING)),
        },
    )


def newsletter_of_link(newsletter_id, slug, issue):
    """The newsletter an unsubscribe link names (by number, or, in links sent
    before, by slug), or None. A slug may have been renamed, or even given to
    another newsletter, since the email left: the link's issue says which
    newsletter it was; the slug serves only when the issue is unknown."""
    if newsletter_id is not None:
        return Newsletter.objects.filter(pk=newsletter_id).first()
    sent = Issue.objects.filter(pk=issue).select_related("newsletter").first() if issue else None
    return sent.newsletter if sent else Newsletter.objects.filter(slug=slug).first()


@csrf_exempt  # one-click unsubscribe (RFC 8058) posts without cookies or CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token, newsletter=None, issue=None, newsletter_id=None):
    """GET shows a button. A POST unsubscribes at once and answers 200 without a
    redirect, as RFC 8058 asks of one-click unsubscribe.

    The link of an issue names its newsletter by number (and the issue): it
    leaves that newsletter only, and the page offers the others. Links sent
    before named the newsletter by its slug, which may have been renamed
    since: they are read through their issue, whose newsletter never changes.
    A link without a newsletter (in emails sent before there were several
    newsletters, and in confirmation emails) leaves them all."""
    subscriber = Subscriber.objects.from_token(token, Subscriber.TokenPurpose.UNSUBSCRIBE)
    if subscriber is None:
        return link_invalid(request, Subscriber.TokenPurpose.UNSUBSCRIBE)
    if newsletter_id is not None or newsletter is not None:
        newsletter = newsletter_of_link(newsletter_id, newsletter, issue)
        if newsletter is None:
            return link_invalid(request, Subscriber.TokenPurpose.UNSUBSCRIBE)
        # A number that is not an issue of this newsletter is only not recorded.
        issue = Issue.objects.filter(pk=issue, newsletter=newsletter).first() if issue else None
    context = {
        "subscriber": subscriber,
        "newsletter": newsletter,
        "preferences_url": reverse(
            "newsletter:preferences",
            args=[subscriber.make_token(Subscriber.TokenPurpose.PREFERENCES)],
        ),
    }
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        method = ConsentEvent.Method.ONE_CLICK if one_click else ConsentEvent.Method.LINK
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            if newsletter is not None:
                subscriber.leave(newsletter, method, ip=client_ip(request), issue=issue)
            elif subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                subscriber.unsubscribe(method, ip=client_ip(request))
        context["subscriber"] = subscriber
        context["remaining"] = list(subscriber.newsletters_in(*Subscription.HELD))
        return render(request, "newsletter/unsubscribe_done.html", context)
    if newsletter is not None:
        context["receives"] = (
            subscriber.newsletters_in(*Subscription.HELD).filter(pk=newsletter.pk).exists()
        )
    return render(request, "newsletter/unsubscribe.html", context)


@csrf_exempt  # the signed link is the secret; posted_from_this_site() checks the origin
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token):
    """A subscriber's own page, reached by the signed link of every email (no
    account, no cookie): which newsletters they receive, and leaving all.
    Leaving works at once; joining is confirmed by email (double opt-in), as
    the link may have been forwarded."""
    subscriber = Subscriber.objects.from_token(token, Subscriber.TokenPurpose.PREFERENCES)
    if subscriber is None:
        return link_invalid(request, Subscriber.TokenPurpose.PREFERENCES)
    offered = Newsletter.objects.offered_to(subscriber)
    saved, status, joining = False, 200, None
    if request.method == "POST":
        if not posted_from_this_site(request):
            return csrf_failure(request)
        form = PreferencesForm(request.POST, offered=offered)
        if form.is_valid():
            with transaction.atomic():
                subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
                if form.leaves_all():
                    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                        subscriber.unsubscribe(
                            ConsentEvent.Method.PREFERENCES, ip=client_ip(request)
                        )
                else:
                    joining = subscriber.update_preferences(
                        form.cleaned_data["newsletters"], list(offered), ip=client_ip(request)
                    )
            if joining == SignupOutcome.SEND:
                send_confirmation_task.enqueue(subscriber.pk)
            saved = True
        else:
            status = 400
    else:
        form = PreferencesForm(offered=offered)
    held = set(subscriber.newsletters_in(*Subscription.HELD).values_list("pk", flat=True))
    pending = set(
        subscriber.newsletters_in(Subscription.Status.PENDING).values_list("pk", flat=True)
    )
    if form.is_bound and not saved:
        ticked = set(form.data.getlist("newsletters"))
    else:
        ticked = {str(pk) for pk in held}
    choices = [
        {
            "newsletter": newsletter,
            "value": str(newsletter.pk),
            "ticked": str(newsletter.pk) in ticked,
            "pending": newsletter.pk in pending,
        }
        for newsletter in Newsletter.objects.offered_to(subscriber)
    ]
    context = {
        "subscriber": subscriber,
        "form": form,
        "choices": choices,
        "saved": saved,
        "receives_any": bool(held),
        "joining": joining,
        "SignupOutcome": SignupOutcome,
    }
    return render(request, "newsletter/preferences.html", context, status=status)


@require_safe
def archive(request):
    """The public newsletters, each with its number of issues and a link to them."""
    newsletters = Newsletter.objects.public().with_archive_summary()
    return render(request, "newsletter/archive.html", {"newsletters": newsletters})


@require_safe
def newsletter_archive(request, slug):
    """One newsletter's past issues, newest first."""
    newsletter = get_object_or_404(Newsletter.objects.public(), slug=slug)
    issues = newsletter.issues.sent().order_by("-finished_at", "-pk")
    return render(
        request,
        "newsletter/newsletter_archive.html",
        {"newsletter": newsletter, "issues": issues},
    )


@require_safe
def archive_detail(request, slug, pk):
    """The web version of a sent issue (no personal link in it)."""
    issue = get_object_or_404(
        Issue.objects.archived().select_related("newsletter"), pk=pk, newsletter__slug=slug
    )
    return render(
        request, "newsletter/archive_detail.html", {"issue": issue, "items": issue.items()}
    )


@require_safe
def old_archive_detail(request, pk):
    """Addresses from before there were several newsletters lead to the issue."""
    issue = get_object_or_404(Issue.objects.archived().select_related("newsletter"), pk=pk)
    return redirect(issue, permanent=True)


# Provider webhooks (django-anymail), each with the setting that authenticates
# it: Mailgun signs its posts; the others send HTTP basic auth.
PROVIDER_WEBHOOKS = {
    "mailgun": (MailgunTrackingWebhookView.as_view(), "MAILGUN_WEBHOOK_SIGNING_KEY"),
    "postmark": (PostmarkTrackingWebhookView.as_view(), "WEBHOOK_SECRET"),
    "sendgrid": (SendGridTrackingWebhookView.as_view(), "WEBHOOK_SECRET"),
    "amazon-ses": (AmazonSESTrackingWebhookView.as_view(), "WEBHOOK_SECRET"),
    "brevo": (BrevoTrackingWebhookView.as_view(), "WEBHOOK_SECRET"),
}


@csrf_exempt  # providers post without cookies; anymail checks their signature or credentials
@never_cache
def provider_webhook(request, provider):
    """Delivery, bounce, complaint and unsubscribe events posted by the mail
    provider (newsletter.bounces records them). A provider without its secret
    configured has no webhook: accepting unsigned posts would let anyone
    block addresses. A wrong signature or password is refused (400)."""
    webhook = PROVIDER_WEBHOOKS.get(provider)
    if webhook is None or not settings.ANYMAIL.get(webhook[1]):
        raise Http404
    view, _setting = webhook
    try:
        return view(request)
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        AnymailConfigurationError,  # e.g. an inbound-mail event posted here
    ):
        # A body that is not what this provider sends (a wrong signature or
        # password raises before the body is read, and answers 400 too).
        logger.warning("Unreadable %s webhook post.", provider, exc_info=True)
        return HttpResponseBadRequest(
            "Requête mal formée.", content_type="text/plain; charset=utf-8"
        )
