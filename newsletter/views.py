from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .emails import send_confirmation
from .forms import SubscribeForm
from .models import CONFIRMATION_MAX_AGE, Subscriber


@require_http_methods(["GET", "POST"])
def subscribe(request):
    """The signup form. Every valid address gets the same answer, whether it is
    new, pending, confirmed or unsubscribed: nobody can probe who subscribes."""
    if request.method == "POST":
        form = SubscribeForm(request.POST)
        if form.is_valid():
            subscriber, should_send = Subscriber.objects.request_subscription(
                form.cleaned_data["email"], form.cleaned_data["source"]
            )
            if should_send and not send_confirmation(subscriber):
                Subscriber.objects.release_confirmation_claim(subscriber)
            return redirect("newsletter:subscribe-done")
        status = 400
    else:
        form = SubscribeForm(initial={"source": request.GET.get("source", "")})
        status = 200
    return render(request, "newsletter/subscribe.html", {"form": form}, status=status)


def subscribe_done(request):
    return render(request, "newsletter/subscribe_done.html")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button; only the POST confirms, so that mail scanners which
    follow links confirm nothing."""
    subscriber = Subscriber.objects.from_token(token, "confirm", max_age=CONFIRMATION_MAX_AGE)
    if subscriber is None:
        return render(request, "newsletter/link_invalid.html", {"kind": "confirm"}, status=400)
    if request.method == "POST":
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            if subscriber.status != Subscriber.Status.CONFIRMED:
                subscriber.confirm()
        return render(request, "newsletter/confirm_done.html", {"subscriber": subscriber})
    return render(request, "newsletter/confirm.html", {"subscriber": subscriber})


@csrf_exempt  # one-click unsubscribe (RFC 8058) posts without cookies or CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    subscriber = Subscriber.objects.from_token(token, "unsubscribe")
    if subscriber is None:
        return render(request, "newsletter/link_invalid.html", {"kind": "unsubscribe"}, status=400)
    if request.method == "POST":
        if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            subscriber.unsubscribe()
        return render(request, "newsletter/unsubscribe_done.html", {"subscriber": subscriber})
    return render(request, "newsletter/unsubscribe.html", {"subscriber": subscriber})
