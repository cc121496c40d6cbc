from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from newsroom.views import csrf_failure, posted_from_this_site

from .forms import SubscribeForm
from .models import (
    CONFIRMATION_MAX_AGE,
    ConsentEvent,
    Issue,
    SignupAttempt,
    SignupRequest,
    Subscriber,
    truncate_ip,
)
from .tasks import process_signup_task


def client_ip(request):
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw
    (NUMBER_OF_PROXIES) in X-Forwarded-For."""
    proxies = settings.NUMBER_OF_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


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
            if subscriber.status != Subscriber.Status.CONFIRMED:
                subscriber.confirm(ip=client_ip(request))
        return render(request, "newsletter/confirm_done.html", {"subscriber": subscriber})
    return render(request, "newsletter/confirm.html", {"subscriber": subscriber})


@csrf_exempt  # one-click unsubscribe (RFC 8058) posts without cookies or CSRF token
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET shows a button. A POST unsubscribes at once and answers 200 without a
    redirect, as RFC 8058 asks of one-click unsubscribe."""
    subscriber = Subscriber.objects.from_token(token, Subscriber.TokenPurpose.UNSUBSCRIBE)
    if subscriber is None:
        return link_invalid(request, Subscriber.TokenPurpose.UNSUBSCRIBE)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                method = ConsentEvent.Method.ONE_CLICK if one_click else ConsentEvent.Method.LINK
                subscriber.unsubscribe(method, ip=client_ip(request))
        return render(request, "newsletter/unsubscribe_done.html", {"subscriber": subscriber})
    return render(request, "newsletter/unsubscribe.html", {"subscriber": subscriber})


@require_safe
def archive(request):
    """Past newsletters, newest first."""
    issues = Issue.objects.filter(status=Issue.Status.SENT).order_by("-finished_at")
    return render(request, "newsletter/archive.html", {"issues": issues})


@require_safe
def archive_detail(request, pk):
    """The web version of a sent newsletter (no personal link in it)."""
    issue = get_object_or_404(Issue, pk=pk, status=Issue.Status.SENT)
    return render(
        request, "newsletter/archive_detail.html", {"issue": issue, "items": issue.items()}
    )
