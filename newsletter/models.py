import secrets
from datetime import timedelta

from django.core import signing
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CONFIRMATION_MAX_AGE = 60 * 60 * 24 * 7  # seconds a confirmation link stays valid
# At most one confirmation email to an address in this period, whoever asks.
CONFIRMATION_RESEND_DELAY = timedelta(hours=24)


def new_token_key():
    return secrets.token_urlsafe(18)


class SubscriberQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED)

    def with_email(self, email):
        # Matches the case-insensitive unique index on lower(email).
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.lower())

    def request_subscription(self, email, source=""):
        """Record that ``email`` asked to subscribe. Returns the subscriber and
        whether a confirmation email should be sent now.

        Safe under concurrent requests for one address: one row, and at most one
        of them is told to send."""
        now = timezone.now()
        with transaction.atomic():
            # ON CONFLICT DO NOTHING: a concurrent insert for the same address waits
            # for the other transaction, then leaves its row alone.
            self.bulk_create(
                [Subscriber(email=email, source=source, created_at=now)], ignore_conflicts=True
            )
            subscriber = self.select_for_update().with_email(email).get()
            if subscriber.status == Subscriber.Status.CONFIRMED:
                return subscriber, False
            last_sent = subscriber.confirmation_sent_at
            if last_sent is not None and now - last_sent < CONFIRMATION_RESEND_DELAY:
                return subscriber, False
            subscriber.confirmation_sent_at = now
            if source:
                subscriber.source = source
            subscriber.save(update_fields=["confirmation_sent_at", "source"])
            return subscriber, True

    def release_confirmation_claim(self, subscriber):
        """Let the address ask again when its confirmation email could not be sent."""
        self.filter(pk=subscriber.pk, confirmation_sent_at=subscriber.confirmation_sent_at).update(
            confirmation_sent_at=None
        )

    def from_token(self, token, purpose, max_age=None):
        """The subscriber a signed link points to, or None when the link was
        tampered with, has expired, or points to nobody."""
        signer = signing.TimestampSigner(salt=f"newsletter.{purpose}")
        try:
            key = signer.unsign(token, max_age=max_age)
        except (signing.BadSignature, ValueError, TypeError):
            return None
        return self.filter(token_key=key).first()


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de confirmation")
        CONFIRMED = "confirmed", _("Confirmé")
        UNSUBSCRIBED = "unsubscribed", _("Désinscrit")

    email = models.EmailField(_("adresse e-mail"), max_length=254)
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("inscrit le"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmé le"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("désinscrit le"), null=True, blank=True)
    source = models.CharField(
        _("page d’origine"),
        max_length=500,
        blank=True,
        help_text=_("La page du site où le formulaire a été rempli."),
    )
    confirmation_sent_at = models.DateTimeField(
        _("dernier e-mail de confirmation"), null=True, blank=True, editable=False
    )
    # The random part of the subscriber's signed links; changing it voids them.
    token_key = models.CharField(max_length=40, unique=True, default=new_token_key, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("abonné")
        verbose_name_plural = _("abonnés")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]

    def __str__(self):
        return self.email

    def make_token(self, purpose):
        return signing.TimestampSigner(salt=f"newsletter.{purpose}").sign(self.token_key)

    def confirm(self):
        self.status = self.Status.CONFIRMED
        self.confirmed_at = timezone.now()
        self.unsubscribed_at = None
        self.save(update_fields=["status", "confirmed_at", "unsubscribed_at"])

    def unsubscribe(self):
        self.status = self.Status.UNSUBSCRIBED
        self.unsubscribed_at = timezone.now()
        self.save(update_fields=["status", "unsubscribed_at"])
