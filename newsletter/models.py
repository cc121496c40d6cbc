import enum
import ipaddress
import re
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from articles.fields import PlainCharField, PlainTextField
from articles.models import stamped_by

from .signals import schedule_wanted, sender_wanted

CONFIRMATION_MAX_AGE = 60 * 60 * 24 * 7  # seconds a confirmation link stays valid
# Guardrails (#11 §2): a send pauses itself past these shares of the messages
# sent. 0.3 % is Gmail's limit on spam complaints for bulk senders.
COMPLAINT_RATE_LIMIT = 0.003
BOUNCE_RATE_LIMIT = 0.05
# One complaint or one hard bounce is an accident, not a trend: on a small send
# it alone passes the rate (1 of 100 is 1 %). A send pauses on this many at least.
GUARDRAIL_MIN_EVENTS = 2
# A scheduled issue that starts later than this after its time was late (its
# worker was down): the admin and the worker say so.
LATE_AFTER = timedelta(minutes=2)
# At most one request (and so one confirmation email) for an address in this
# period, whoever asks and whatever the address's state.
REQUEST_INTERVAL = timedelta(hours=24)


class SignupOutcome(enum.StrEnum):
    """What recording a signup request led to (see request_subscription)."""

    SEND = "send"  # a confirmation email is due
    SUBSCRIBED = "subscribed"  # already confirmed: nothing to send
    THROTTLED = "throttled"  # the address was already asked for within REQUEST_INTERVAL
    SUPPRESSED = "suppressed"  # the address bounced or complained: nothing is sent

    # Templates compare against members: they must not call the class.
    do_not_call_in_templates = enum.nonmember(True)


def new_token_key():
    return secrets.token_urlsafe(18)


def token_issued_at(token):
    """When a link signed by a TimestampSigner was made (to the second), or None.
    Call it only on a token whose signature was checked."""
    try:
        stamp = token.rsplit(":", 2)[1]
        return datetime.fromtimestamp(signing.b62_decode(stamp), tz=UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return None


def truncate_ip(ip):
    """The network part of an address, enough to prove a request's origin without
    naming a household: IPv4 /24, IPv6 /48."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


class ConsentTextQuerySet(models.QuerySet):
    def current(self):
        return self.order_by("-version").first()


class ConsentText(models.Model):
    """The wording readers agree to when they subscribe. Versions are never
    changed: editing the text in the admin adds a new version."""

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    text = PlainTextField(
        _("texte du consentement"),
        help_text=_(
            "Affiché sous le formulaire d’inscription ; chaque modification crée une "
            "nouvelle version, les anciennes restent dans le registre."
        ),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = ConsentTextQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("texte de consentement")
        verbose_name_plural = _("textes de consentement")

    def __str__(self):
        return _("Version %(version)s") % {"version": self.version}

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("Consent texts are append-only; add a new version.")
        with transaction.atomic():
            # Serialise version numbers between concurrent editors.
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE newsletter_consenttext IN EXCLUSIVE MODE")
            last = ConsentText.objects.aggregate(models.Max("version"))["version__max"] or 0
            self.version = last + 1
            super().save(*args, **kwargs)


class NewsletterQuerySet(models.QuerySet):
    def public(self):
        return self.filter(is_public=True)

    def default(self):
        """The newsletter ticked by default on the signup form, or None."""
        return self.filter(is_default=True).first()

    def offered_to(self, subscriber):
        """What the preferences page lists: the public newsletters, and those the
        subscriber receives or asked for even if they are no longer public."""
        held = Subscription.objects.filter(
            subscriber=subscriber, status__in=Subscription.HELD
        ).values("newsletter")
        return self.filter(Q(is_public=True) | Q(pk__in=held))

    def with_archive_summary(self):
        """Each newsletter with its number of sent issues and its latest one."""
        sent = Issue.objects.sent().filter(newsletter=models.OuterRef("pk"))
        latest = sent.order_by("-finished_at", "-pk")
        return self.annotate(
            issue_count=models.Subquery(
                sent.order_by().values("newsletter").annotate(n=Count("pk")).values("n")[:1]
            ),
            latest_issue_at=models.Subquery(latest.values("finished_at")[:1]),
            latest_issue_pk=models.Subquery(latest.values("pk")[:1]),
            latest_issue_subject=models.Subquery(latest.values("subject")[:1]),
        )


class Newsletter(models.Model):
    """A list readers subscribe to, such as « L’essentiel » (weekly) or
    « Alertes » (breaking news). Each issue belongs to one."""

    name = PlainCharField(
        _("nom"), max_length=100, help_text=_("Affiché sur le formulaire et dans les e-mails.")
    )
    slug = models.SlugField(
        _("adresse"), max_length=100, unique=True, help_text=_("Dans l’adresse de ses archives.")
    )
    description = PlainTextField(
        _("description"),
        blank=True,
        help_text=_("Une phrase sous son nom : ce qu’elle contient, à quel rythme."),
    )
    is_public = models.BooleanField(
        _("publique"),
        default=True,
        help_text=_(
            "Proposée sur le formulaire d’inscription, archives publiques. Décochez pour une "
            "liste que seuls ses abonnés actuels voient (dans leurs préférences)."
        ),
    )
    is_default = models.BooleanField(
        _("par défaut"),
        default=False,
        help_text=_(
            "Cochée d’avance sur le formulaire sous les articles ; une seule newsletter l’est."
        ),
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    objects = NewsletterQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("liste de diffusion")
        verbose_name_plural = _("listes de diffusion")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_newsletter"
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.is_default:
                # Choosing a new default unticks the old one.
                Newsletter.objects.filter(is_default=True).exclude(pk=self.pk).update(
                    is_default=False
                )
            super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("newsletter:newsletter-archive", args=[self.slug])

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.is_default and not self.is_public:
            raise ValidationError(
                {"is_default": _("La newsletter par défaut doit être publique.")}
            )


DEFAULT_NEWSLETTER = {
    "name": "L’essentiel",
    "slug": "l-essentiel",
    "description": "Chaque semaine, le meilleur de l’actualité de l’Asie centrale.",
}


def default_newsletter_id():
    """The default newsletter's id (an issue's newsletter unless one is chosen,
    see Issue.save); « L’essentiel » is made if there is none."""
    newsletter = Newsletter.objects.default()
    if newsletter is None:
        newsletter, _created = Newsletter.objects.get_or_create(
            slug=DEFAULT_NEWSLETTER["slug"],
            defaults={**DEFAULT_NEWSLETTER, "is_default": True, "position": 1},
        )
    return newsletter.pk


class SubscriberQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED, erased_at__isnull=True)

    def recipients_of(self, newsletter):
        """The one rule for who receives an issue of ``newsletter`` (an instance
        or id): a confirmed address subscribed to it, and not blocked after
        bounces or a complaint."""
        return (
            self.confirmed()
            .filter(suppressed_at__isnull=True)
            .filter(
                pk__in=Subscription.objects.filter(
                    newsletter=newsletter, status=Subscription.Status.ACTIVE
                ).values("subscriber")
            )
        )

    def with_email(self, email):
        # PostgreSQL lowers both sides, as the unique index on lower(email) does
        # (Python's lower() differs for a few letters, such as the dotted İ).
        return self.alias(email_lower=Lower("email")).filter(
            email_lower=Lower(Value(email, output_field=models.CharField()))
        )

    def request_subscription(self, email, source="", ip="", newsletters=(), method=""):
        """Record that ``email`` asked to subscribe to ``newsletters`` (ids; the
        default one when empty) and return (subscriber, outcome), the outcome a
        SignupOutcome (THROTTLED whatever the address's state). A confirmed
        address that asks for a newsletter it does not receive yet gets a
        confirmation email for it: nobody can add a newsletter to someone
        else's address. ``method``: where it was asked, when not on the
        signup form (a ConsentEvent.Method).

        Safe under concurrent requests for one address: one row, and at most one
        of them is told to send."""
        wanted = list(Newsletter.objects.filter(pk__in=newsletters or [default_newsletter_id()]))
        now = timezone.now()
        with transaction.atomic():
            # ON CONFLICT DO NOTHING: a concurrent insert for the same address waits
            # for the other transaction, then leaves its row alone.
            self.bulk_create(
                [Subscriber(email=email, source=source, created_at=now)], ignore_conflicts=True
            )
            subscriber = (
                self.select_for_update().filter(erased_at__isnull=True).with_email(email).get()
            )
            last = subscriber.last_requested_at
            if last is not None and now - last < REQUEST_INTERVAL:
                return subscriber, SignupOutcome.THROTTLED
            subscriber.last_requested_at = now
            subscriber.save(update_fields=["last_requested_at"])
            if subscriber.suppressed_at is not None:
                return subscriber, SignupOutcome.SUPPRESSED
            confirmed = subscriber.status == Subscriber.Status.CONFIRMED
            active = set(
                subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
                    "newsletter", flat=True
                )
            )
            missing = [newsletter for newsletter in wanted if newsletter.pk not in active]
            if confirmed and not missing:
                return subscriber, SignupOutcome.SUBSCRIBED
            if source:
                subscriber.source = source
            subscriber.confirmation_sent_at = now
            subscriber.save(update_fields=["source", "confirmation_sent_at"])
            # This request replaces an earlier unconfirmed one: its link confirms
            # what was asked for now.
            subscriber.subscriptions.filter(status=Subscription.Status.PENDING).exclude(
                newsletter__in=missing
            ).delete()
            consent_text = ConsentText.objects.current()
            for newsletter in missing:
                Subscription.objects.update_or_create(
                    subscriber=subscriber,
                    newsletter=newsletter,
                    defaults={"status": Subscription.Status.PENDING},
                )
                ConsentEvent.objects.create(
                    subscriber=subscriber,
                    newsletter=newsletter,
                    kind=ConsentEvent.Kind.REQUESTED,
                    source=source,
                    consent_text=consent_text,
                    ip=truncate_ip(ip),
                    method=method,
                )
            return subscriber, SignupOutcome.SEND

    def release_request(self, subscriber):
        """Let the address ask again at once when its confirmation email could
        not be sent."""
        self.filter(pk=subscriber.pk, last_requested_at=subscriber.last_requested_at).update(
            last_requested_at=None, confirmation_sent_at=None
        )

    def from_token(self, token, purpose, max_age=None):
        """The subscriber a signed link (made for ``purpose``, a
        Subscriber.TokenPurpose) points to, or None when the link was tampered
        with, has expired, or points to nobody."""
        signer = signing.TimestampSigner(salt=f"newsletter.{Subscriber.TokenPurpose(purpose)}")
        try:
            key = signer.unsign(token, max_age=max_age)
        except (signing.BadSignature, ValueError, TypeError):
            return None
        return self.filter(token_key=key, erased_at__isnull=True).first()

    def purge_unconfirmed(self, older_than):
        """Delete signups never confirmed and older than ``older_than`` (a
        timedelta), with their requests: no consent ever existed. Returns the count."""
        cutoff = timezone.now() - older_than
        stale = self.filter(
            status=Subscriber.Status.PENDING, confirmed_at__isnull=True, created_at__lt=cutoff
        ).exclude(last_requested_at__gte=cutoff)
        ids = list(stale.values_list("pk", flat=True))
        self.filter(pk__in=ids).delete()
        return len(ids)


class Suppression(models.TextChoices):
    """Why an address gets no more mail."""

    HARD_BOUNCE = "hard-bounce", _("Rebond définitif (adresse inexistante)")
    COMPLAINT = "complaint", _("Plainte (signalé comme indésirable)")
    SOFT_BOUNCES = "soft-bounces", _("Rebonds temporaires répétés")


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de confirmation")
        CONFIRMED = "confirmed", _("Confirmé")
        UNSUBSCRIBED = "unsubscribed", _("Désinscrit")

    class TokenPurpose(enum.StrEnum):
        """What a signed link does. Each purpose signs with its own salt, so a
        link made for one never works for another."""

        CONFIRM = "confirm"
        UNSUBSCRIBE = "unsubscribe"
        PREFERENCES = "preferences"

        # Templates compare against members: they must not call the class.
        do_not_call_in_templates = enum.nonmember(True)

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
    last_requested_at = models.DateTimeField(
        _("dernière demande d’inscription"), null=True, blank=True, editable=False
    )
    confirmation_sent_at = models.DateTimeField(
        _("dernier e-mail de confirmation"), null=True, blank=True, editable=False
    )
    erased_at = models.DateTimeField(_("effacé le"), null=True, blank=True, editable=False)
    suppressed_at = models.DateTimeField(
        _("adresse bloquée le"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Après un rebond définitif ou une plainte : plus aucun envoi."),
    )
    suppression_reason = models.CharField(
        _("motif du blocage"), max_length=20, choices=Suppression.choices, blank=True
    )
    # The random part of the subscriber's signed links; changing it voids them.
    token_key = models.CharField(max_length=40, unique=True, default=new_token_key, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("abonné")
        verbose_name_plural = _("abonnés")
        constraints = [
            # Erased rows keep no address at all, so nothing a reader types can
            # collide with them and block an erasure.
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(erased_at__isnull=True),
                name="subscriber_email_unique_ci",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="subscriber_status_idx")]

    def __str__(self):
        if self.erased_at is not None:
            return _("Abonné effacé n° %(pk)s") % {"pk": self.pk}
        return self.email

    def make_token(self, purpose):
        """A signed link token for ``purpose`` (a TokenPurpose)."""
        salt = f"newsletter.{self.TokenPurpose(purpose)}"
        return signing.TimestampSigner(salt=salt).sign(self.token_key)

    def confirmation_link_is_current(self, token):
        """A withdrawal ends every confirmation link sent before it: consenting
        again takes a new request (and a new link)."""
        if self.unsubscribed_at is None:
            return True
        issued_at = token_issued_at(token)
        # Links carry whole seconds: one made in the second of the withdrawal counts.
        return issued_at is not None and issued_at >= self.unsubscribed_at.replace(microsecond=0)

    def unsubscribe_url(self):
        path = reverse(
            "newsletter:unsubscribe", args=[self.make_token(self.TokenPurpose.UNSUBSCRIBE)]
        )
        return f"{settings.SITE_URL}{path}"

    def preferences_url(self):
        path = reverse(
            "newsletter:preferences", args=[self.make_token(self.TokenPurpose.PREFERENCES)]
        )
        return f"{settings.SITE_URL}{path}"

    def newsletters_in(self, *statuses):
        return Newsletter.objects.filter(
            subscriptions__subscriber=self, subscriptions__status__in=statuses
        )

    def confirm(self, ip=""):
        """The address is confirmed: the newsletters asked for start, each with
        its consent (the wording the reader saw when asking) in the log."""
        with transaction.atomic():
            now = timezone.now()
            self.status = self.Status.CONFIRMED
            self.confirmed_at = now
            self.unsubscribed_at = None
            self.save(update_fields=["status", "confirmed_at", "unsubscribed_at"])
            pending = list(
                self.subscriptions.filter(status=Subscription.Status.PENDING).select_related(
                    "newsletter"
                )
            )
            if (
                not pending
                and not self.subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
            ):
                # A request from before newsletters could be chosen.
                pending = [
                    Subscription.objects.get_or_create(
                        subscriber=self, newsletter_id=default_newsletter_id()
                    )[0]
                ]
            for subscription in pending:
                request = (
                    self.consent_events.filter(
                        kind=ConsentEvent.Kind.REQUESTED, newsletter=subscription.newsletter_id
                    )
                    .order_by("-at", "-pk")
                    .first()
                )
                subscription.status = Subscription.Status.ACTIVE
                subscription.subscribed_at = now
                subscription.left_at = None
                subscription.save(update_fields=["status", "subscribed_at", "left_at"])
                ConsentEvent.objects.create(
                    subscriber=self,
                    newsletter_id=subscription.newsletter_id,
                    kind=ConsentEvent.Kind.CONFIRMED,
                    source=request.source if request else self.source,
                    consent_text=(
                        request.consent_text if request else ConsentText.objects.current()
                    ),
                    ip=truncate_ip(ip),
                )

    def leave(self, newsletter, method, ip="", issue=None):
        """Stop ``newsletter`` (``issue``: the email whose link was used). An
        address left with no newsletter is unsubscribed."""
        with transaction.atomic():
            now = timezone.now()
            left = self.subscriptions.filter(
                newsletter=newsletter, status__in=Subscription.HELD
            ).update(status=Subscription.Status.LEFT, left_at=now)
            if not left:
                return
            ConsentEvent.objects.create(
                subscriber=self,
                newsletter=newsletter,
                issue=issue,
                kind=ConsentEvent.Kind.WITHDRAWN,
                method=method,
                ip=truncate_ip(ip),
            )
            if not self.subscriptions.filter(status__in=Subscription.HELD).exists():
                self.status = self.Status.UNSUBSCRIBED
                self.unsubscribed_at = now
                self.save(update_fields=["status", "unsubscribed_at"])

    def unsubscribe(self, method, ip="", issue=None):
        """Leave every newsletter (a withdrawal per newsletter in the log)."""
        with transaction.atomic():
            now = timezone.now()
            held = list(
                self.subscriptions.filter(status__in=Subscription.HELD).values_list(
                    "newsletter", flat=True
                )
            )
            self.subscriptions.filter(status__in=Subscription.HELD).update(
                status=Subscription.Status.LEFT, left_at=now
            )
            self.status = self.Status.UNSUBSCRIBED
            self.unsubscribed_at = now
            self.save(update_fields=["status", "unsubscribed_at"])
            ConsentEvent.objects.bulk_create(
                ConsentEvent(
                    subscriber=self,
                    newsletter_id=newsletter,
                    issue=issue,
                    kind=ConsentEvent.Kind.WITHDRAWN,
                    method=method,
                    ip=truncate_ip(ip),
                    at=now,
                )
                for newsletter in held or [None]
            )

    def update_preferences(self, chosen, offered, ip=""):
        """Receive exactly the newsletters of ``chosen`` (not empty: that is
        leaving everything) among ``offered``. Leaving one works at once.
        Joining one is asked for as on the signup form, and confirmed by email:
        the preferences link is in every email and may have been forwarded, so
        it proves no consent. Returns the request's SignupOutcome (SEND: the
        caller sends the confirmation email), or None when nothing is joined."""
        chosen = {newsletter.pk for newsletter in chosen}
        active = set(
            self.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
                "newsletter", flat=True
            )
        )
        joining = [
            newsletter.pk
            for newsletter in offered
            if newsletter.pk in chosen and newsletter.pk not in active
        ]
        outcome = None
        with transaction.atomic():
            if joining:
                _subscriber, outcome = Subscriber.objects.request_subscription(
                    self.email,
                    ip=ip,
                    newsletters=joining,
                    method=ConsentEvent.Method.PREFERENCES,
                )
            for newsletter in offered:
                if newsletter.pk not in chosen:
                    self.leave(newsletter, ConsentEvent.Method.PREFERENCES, ip=ip)
        return outcome

    def suppress(self, reason):
        """No more mail to this address (``reason``: a Suppression). Returns
        whether it was not already."""
        blocked = Subscriber.objects.filter(pk=self.pk, suppressed_at__isnull=True).update(
            suppressed_at=timezone.now(), suppression_reason=reason
        )
        self.refresh_from_db(fields=["suppressed_at", "suppression_reason"])
        return bool(blocked)

    def unsuppress(self):
        """An editor's choice, when the address works again (the mailbox was
        full, the domain is back): mail may go to it again."""
        Subscriber.objects.filter(pk=self.pk).update(suppressed_at=None, suppression_reason="")
        self.refresh_from_db(fields=["suppressed_at", "suppression_reason"])

    def soft_bounces_in_a_row(self):
        """Messages that bounced for now since the last one known delivered
        and within NEWSLETTER_SOFT_BOUNCE_DAYS (several notices about one
        message count once)."""
        since = timezone.now() - timedelta(days=settings.NEWSLETTER_SOFT_BOUNCE_DAYS)
        events = self.mail_events.filter(at__gte=since)
        last_delivered = (
            events.filter(kind=MailEvent.Kind.DELIVERED).order_by("-at").values("at").first()
        )
        soft = events.filter(kind=MailEvent.Kind.SOFT_BOUNCE)
        if last_delivered:
            soft = soft.filter(at__gt=last_delivered["at"])
        with_delivery = soft.exclude(delivery=None).values("delivery").distinct().count()
        return with_delivery + soft.filter(delivery=None).count()

    def erase(self):
        """Erasure (GDPR): the address and every link are gone; what remains is
        an anonymous trace that a consent existed, and when."""
        with transaction.atomic():
            if self.status == self.Status.CONFIRMED:
                self.unsubscribe(ConsentEvent.Method.ERASURE)
            self.email = ""
            self.status = self.Status.UNSUBSCRIBED
            self.source = ""
            self.erased_at = timezone.now()
            self.token_key = new_token_key()
            self.save()
            ConsentEvent.objects.filter(subscriber=self).update(ip="")
            self.subscriptions.filter(status__in=Subscription.HELD).update(
                status=Subscription.Status.LEFT, left_at=timezone.now()
            )
            self.deliveries.update(error="", message_id="")
            self.mail_events.update(detail="")
            ConsentEvent.objects.create(subscriber=self, kind=ConsentEvent.Kind.ERASED)

    def consent_record(self):
        """Everything we hold on this subscriber (GDPR access), as plain data."""
        return {
            "adresse": self.email,
            "statut": self.get_status_display(),
            "inscrit_le": self.created_at.isoformat(),
            "confirme_le": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "desinscrit_le": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
            "page_d_origine": self.source,
            "newsletters": [
                {
                    "newsletter": subscription.newsletter.name,
                    "statut": subscription.get_status_display(),
                    "depuis": (
                        subscription.subscribed_at.isoformat()
                        if subscription.subscribed_at
                        else None
                    ),
                    "jusqu_au": subscription.left_at.isoformat() if subscription.left_at else None,
                }
                for subscription in self.subscriptions.select_related("newsletter")
            ],
            "registre_du_consentement": [
                {
                    "evenement": event.get_kind_display(),
                    "newsletter": event.newsletter.name if event.newsletter else "",
                    "date": event.at.isoformat(),
                    "page": event.source,
                    "texte_accepte": (
                        {"version": event.consent_text.version, "texte": event.consent_text.text}
                        if event.consent_text
                        else None
                    ),
                    "ip_tronquee": event.ip,
                    "moyen": event.get_method_display() if event.method else "",
                }
                for event in self.consent_events.select_related(
                    "consent_text", "newsletter"
                ).order_by("at", "pk")
            ],
            "newsletters_envoyees": [
                {
                    "newsletter": delivery.issue.subject,
                    "statut": delivery.get_status_display(),
                    "envoyee_le": delivery.sent_at.isoformat() if delivery.sent_at else None,
                }
                for delivery in self.deliveries.select_related("issue").order_by("pk")
            ],
        }


class Subscription(models.Model):
    """One address's place on one newsletter."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de confirmation")
        ACTIVE = "active", _("Abonné")
        LEFT = "left", _("Désabonné")

    subscriber = models.ForeignKey(
        Subscriber,
        verbose_name=_("abonné"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    newsletter = models.ForeignKey(
        Newsletter,
        verbose_name=_("newsletter"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    subscribed_at = models.DateTimeField(_("abonné le"), null=True, blank=True)
    left_at = models.DateTimeField(_("désabonné le"), null=True, blank=True)

    # Statuses that hold a place: the reader wants the newsletter.
    HELD = (Status.PENDING, Status.ACTIVE)

    class Meta:
        ordering = ["newsletter__position", "newsletter__pk"]
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnements")
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "newsletter"], name="subscription_once"),
        ]
        indexes = [
            models.Index(fields=["newsletter", "status"], name="subscription_state_idx"),
        ]

    def __str__(self):
        return f"{self.subscriber} → {self.newsletter}"


class ConsentEventQuerySet(models.QuerySet):
    def delete(self):
        raise PermissionDenied("The consent log is append-only.")

    def update(self, **kwargs):
        # The only change ever made to the log: erasing IPs on erasure.
        if set(kwargs) != {"ip"} or any(kwargs.values()):
            raise PermissionDenied("The consent log is append-only.")
        return super().update(**kwargs)


class ConsentEvent(models.Model):
    """The append-only consent log."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", _("Demande d’inscription")
        CONFIRMED = "confirmed", _("Confirmation")
        WITHDRAWN = "withdrawn", _("Retrait du consentement")
        ERASED = "erased", _("Effacement des données")

    class Method(models.TextChoices):
        LINK = "link", _("Lien de désinscription (page)")
        ONE_CLICK = "one-click", _("Désinscription en un clic (messagerie)")
        ADMIN = "admin", _("Par la rédaction (administration)")
        ERASURE = "erasure", _("Effacement des données")
        PREFERENCES = "preferences", _("Page des préférences (lien personnel)")
        PROVIDER = "provider", _("Chez le fournisseur d’envoi (signalé par lui)")

    subscriber = models.ForeignKey(
        Subscriber,
        verbose_name=_("abonné"),
        on_delete=models.CASCADE,
        related_name="consent_events",
    )
    newsletter = models.ForeignKey(
        Newsletter,
        verbose_name=_("newsletter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Vide : l’adresse entière (effacement)."),
    )
    issue = models.ForeignKey(
        "Issue",
        verbose_name=_("depuis le numéro"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("événement"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    source = models.CharField(_("page"), max_length=500, blank=True)
    consent_text = models.ForeignKey(
        ConsentText,
        verbose_name=_("texte accepté"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    ip = models.CharField(_("IP tronquée"), max_length=45, blank=True)
    method = models.CharField(_("moyen"), max_length=20, choices=Method.choices, blank=True)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("événement de consentement")
        verbose_name_plural = _("registre du consentement")

    def __str__(self):
        return f"{self.get_kind_display()} — {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("The consent log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The consent log is append-only.")


class SignupRequest(models.Model):
    """A signup waiting for the worker. The form stores one and answers at once,
    with the same statements whatever the address's state (new, pending,
    confirmed, unsubscribed, already asked today), so that neither the answer
    nor its timing tells who subscribes. The worker handles it, then deletes it."""

    email = models.EmailField(max_length=254)
    source = models.CharField(max_length=500, blank=True)
    ip = models.CharField(max_length=45, blank=True)  # truncated (see truncate_ip)
    newsletter_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.email} {self.at:%Y-%m-%d %H:%M}"

    def process(self):
        """Record the request (see request_subscription) and forget this row.
        Returns (subscriber, outcome)."""
        with transaction.atomic():
            result = Subscriber.objects.request_subscription(
                self.email, self.source, self.ip, self.newsletter_ids
            )
            SignupRequest.objects.filter(pk=self.pk).delete()
        return result


class SignupAttemptQuerySet(models.QuerySet):
    def record(self, ip):
        """Count a signup attempt from ``ip``; returns how many this address made
        in the last hour, this one included."""
        key = salted_hmac("newsletter.signup-ip", ip or "?").hexdigest()[:32]
        since = timezone.now() - timedelta(hours=1)
        self.create(ip_hash=key)
        return self.filter(ip_hash=key, at__gte=since).count()

    def purge(self, older_than=timedelta(days=1)):
        return self.filter(at__lt=timezone.now() - older_than).delete()[0]


class SignupAttempt(models.Model):
    """Signup attempts per client address (a keyed hash, not the address), for
    the per-IP throttle. Rows older than a day are purged."""

    ip_hash = models.CharField(max_length=32)
    at = models.DateTimeField(default=timezone.now)

    objects = SignupAttemptQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["ip_hash", "at"], name="signup_attempt_idx")]

    def __str__(self):
        return f"{self.ip_hash} {self.at}"


class IssueQuerySet(models.QuerySet):
    def sent(self):
        return self.filter(status=Issue.Status.SENT)

    def archived(self):
        """Sent issues of public newsletters: what the public archive shows."""
        return self.sent().filter(newsletter__is_public=True)

    def due(self, now=None):
        """Scheduled issues whose time has come (or passed, if no worker ran)."""
        return self.filter(
            status=Issue.Status.SCHEDULED, scheduled_at__lte=now or timezone.now()
        ).order_by("scheduled_at", "pk")


class Issue(models.Model):
    """A newsletter issue: a subject, an introduction, and a list of articles."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SCHEDULED = "scheduled", _("Programmée")
        SENDING = "sending", _("Envoi en cours")
        PAUSED = "paused", _("Envoi suspendu")
        SENT = "sent", _("Envoyée")

    # Statuses in which the issue may still be edited, scheduled or sent.
    NOT_STARTED = (Status.DRAFT, Status.SCHEDULED)

    newsletter = models.ForeignKey(
        Newsletter,
        verbose_name=_("liste de diffusion"),
        on_delete=models.PROTECT,
        related_name="issues",
        help_text=_("Les abonnés de cette newsletter la recevront."),
    )
    subject = PlainCharField(
        _("objet"),
        max_length=200,
        typography=True,
        help_text=_("L’objet de l’e-mail, et le titre de l’archive."),
    )
    introduction = PlainTextField(
        _("introduction"),
        typography=True,
        blank=True,
        help_text=_(
            "Quelques lignes avant les articles. Séparez les paragraphes par une ligne vide."
        ),
    )
    articles = models.ManyToManyField(
        "articles.Article", through="IssueArticle", verbose_name=_("articles"), blank=True
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    scheduled_at = models.DateTimeField(
        _("envoi programmé pour"), null=True, blank=True, editable=False
    )
    scheduled_by = stamped_by(_("programmée par"))
    queued_at = models.DateTimeField(_("envoi lancé le"), null=True, blank=True, editable=False)
    queued_by = stamped_by(_("envoi lancé par"))
    finished_at = models.DateTimeField(
        _("envoi terminé le"), null=True, blank=True, editable=False
    )
    paused_at = models.DateTimeField(_("suspendu le"), null=True, blank=True, editable=False)
    pause_reason = models.CharField(_("motif de la suspension"), max_length=300, blank=True)
    guardrails_off = models.BooleanField(
        _("suspension automatique levée"),
        default=False,
        editable=False,
        help_text=_("Un éditeur a repris l’envoi après une suspension : il ira à son terme."),
    )

    objects = IssueQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("newsletter")
        verbose_name_plural = _("newsletters")
        permissions = [("send_issue", _("Peut envoyer une newsletter aux abonnés"))]

    def __str__(self):
        return self.subject

    def save(self, *args, **kwargs):
        # The default newsletter unless one was chosen. Not a field default:
        # migrations record those and call them to fill rows, which would run
        # this query on today's model against an older table.
        if self.newsletter_id is None:
            self.newsletter_id = default_newsletter_id()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("newsletter:archive-detail", args=[self.newsletter.slug, self.pk])

    def items(self):
        """The issue's articles in order, published ones only."""
        from articles.models import Article

        return list(
            Article.objects.published()
            .filter(newsletter_items__issue=self)
            .select_related("section")
            .order_by("newsletter_items__position", "newsletter_items__pk")
        )

    def queue(self, user=None, *, start_sender=True):
        """Start sending: a delivery for each subscriber of its newsletter, then (unless
        the caller sends itself) a sender once this transaction commits. Returns
        the number queued, or None when sending had already started (the
        status is read under the issue's lock: a second click, or two editors
        at once, queue nobody, not even readers who subscribed since)."""
        with transaction.atomic():
            issue = Issue.objects.select_for_update().get(pk=self.pk)
            if issue.status in Issue.NOT_STARTED:
                count = Delivery.objects.create_for(issue)
                issue.status = Issue.Status.SENDING
                issue.queued_at = timezone.now()
                issue.queued_by = user
                issue.save(update_fields=["status", "queued_at", "queued_by"])
                if start_sender:
                    self._want_sender()
            else:
                count = None
        self.refresh_from_db()
        return count

    def schedule(self, at, user=None):
        """Send at ``at`` (an aware datetime): the worker starts it then, once,
        or as soon as it runs again if it was down. Rescheduling moves the time;
        returns False once sending has started."""
        with transaction.atomic():
            issue = Issue.objects.select_for_update().get(pk=self.pk)
            if issue.status not in Issue.NOT_STARTED:
                return False
            issue.status = Issue.Status.SCHEDULED
            issue.scheduled_at = at
            issue.scheduled_by = user
            issue.save(update_fields=["status", "scheduled_at", "scheduled_by", "updated_at"])
            pk = self.pk
            transaction.on_commit(lambda: schedule_wanted.send(sender=Issue, issue_id=pk, at=at))
        self.refresh_from_db()
        return True

    def unschedule(self):
        """Back to draft, until sending has started. Returns whether it was done."""
        done = Issue.objects.filter(pk=self.pk, status=Issue.Status.SCHEDULED).update(
            status=Issue.Status.DRAFT, scheduled_at=None, scheduled_by=None
        )
        self.refresh_from_db()
        return bool(done)

    def start_if_due(self, now=None):
        """Start sending a scheduled issue whose time has come. Only one caller
        (a worker's task, a worker's heartbeat) ever starts it: the row is locked
        and its status moves once. Returns True when this call started it."""
        now = now or timezone.now()
        with transaction.atomic():
            issue = Issue.objects.select_for_update().filter(pk=self.pk).first()
            if issue is None or issue.status != Issue.Status.SCHEDULED:
                return False
            if issue.scheduled_at > now:
                return False
            issue.queue(issue.scheduled_by)
        self.refresh_from_db()
        return True

    def late_by(self):
        """How late a scheduled issue started (a timedelta), or None if on time."""
        if self.scheduled_at is None or self.queued_at is None:
            return None
        delay = self.queued_at - self.scheduled_at
        return delay if delay > LATE_AFTER else None

    def resend_uncertain(self):
        """An editor's choice: put uncertain deliveries back in the queue (some
        readers may get the issue twice) and start a sender. A send the
        guardrails paused stays paused: they go when an editor resumes it.
        Returns the number put back."""
        with transaction.atomic():
            issue = Issue.objects.select_for_update().get(pk=self.pk)
            if issue.status in Issue.NOT_STARTED:
                return 0
            count = issue.deliveries.filter(status=Delivery.Status.UNCERTAIN).update(
                status=Delivery.Status.PENDING, claimed_at=None
            )
            if count and issue.status != Issue.Status.PAUSED:
                Issue.objects.filter(pk=self.pk).update(status=Issue.Status.SENDING)
                self._want_sender()
        self.refresh_from_db()
        return count

    def resume(self):
        """Start a sender for what is still waiting: after a worker stopped, or,
        an editor's choice, after the guardrails paused the send (they then
        leave it alone until it ends)."""
        if self.status == Issue.Status.PAUSED:
            Issue.objects.filter(pk=self.pk, status=Issue.Status.PAUSED).update(
                status=Issue.Status.SENDING, guardrails_off=True
            )
            self.refresh_from_db()
        if self.status != Issue.Status.SENDING:
            return
        self._want_sender()

    def feedback(self):
        """What came back about the messages sent: delivered (accepted and not
        bounced for good), bounced (later, or refused while being handed over),
        bounced for now, complained, unsubscribed through this issue's link, and
        the rates the guardrails watch, over the messages tried (accepted or
        refused)."""
        hard = Q(kind=MailEvent.Kind.HARD_BOUNCE)
        counts = MailEvent.objects.filter(issue=self).aggregate(
            bounced=Count("subscriber", distinct=True, filter=hard),
            bounced_after_sending=Count(
                "subscriber", distinct=True, filter=hard & Q(delivery__status=Delivery.Status.SENT)
            ),
            soft_bounced=Count(
                "subscriber", distinct=True, filter=Q(kind=MailEvent.Kind.SOFT_BOUNCE)
            ),
            complained=Count("subscriber", distinct=True, filter=Q(kind=MailEvent.Kind.COMPLAINT)),
        )
        counts.update(
            self.deliveries.aggregate(
                sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
                tried=Count(
                    "pk", filter=Q(status__in=[Delivery.Status.SENT, Delivery.Status.FAILED])
                ),
            )
        )
        tried = counts["tried"]
        counts["delivered"] = max(counts["sent"] - counts.pop("bounced_after_sending"), 0)
        counts["unsubscribed"] = ConsentEvent.objects.filter(
            issue=self, kind=ConsentEvent.Kind.WITHDRAWN
        ).count()
        counts["complaint_rate"] = counts["complained"] / tried if tried else 0.0
        counts["bounce_rate"] = counts["bounced"] / tried if tried else 0.0
        return counts

    def guardrail_breach(self):
        """Why this send should stop (a French sentence for the editors), or
        None: complaints over COMPLAINT_RATE_LIMIT (Gmail's limit for bulk
        senders) or hard bounces over BOUNCE_RATE_LIMIT of the messages sent,
        once NEWSLETTER_GUARDRAIL_MIN_SENT messages have gone, and never for
        fewer than GUARDRAIL_MIN_EVENTS complaints or bounces."""
        if self.guardrails_off:
            return None
        counts = self.feedback()
        if counts["tried"] < settings.NEWSLETTER_GUARDRAIL_MIN_SENT:
            return None
        if (
            counts["complained"] >= GUARDRAIL_MIN_EVENTS
            and counts["complaint_rate"] > COMPLAINT_RATE_LIMIT
        ):
            return _(
                "%(count)s plainte(s) pour %(sent)s messages tentés (%(rate).2f %%), "
                "au-delà de la limite de %(limit).1f %%."
            ) % {
                "count": counts["complained"],
                "sent": counts["tried"],
                "rate": counts["complaint_rate"] * 100,
                "limit": COMPLAINT_RATE_LIMIT * 100,
            }
        if counts["bounced"] >= GUARDRAIL_MIN_EVENTS and counts["bounce_rate"] > BOUNCE_RATE_LIMIT:
            return _(
                "%(count)s rebond(s) définitif(s) pour %(sent)s messages tentés "
                "(%(rate).1f %%), au-delà de la limite de %(limit).0f %%."
            ) % {
                "count": counts["bounced"],
                "sent": counts["tried"],
                "rate": counts["bounce_rate"] * 100,
                "limit": BOUNCE_RATE_LIMIT * 100,
            }
        return None

    def pause_if_needed(self):
        """Pause a send whose complaints or bounces passed the limits. Returns
        True only to the one caller that paused it (who tells the editors)."""
        reason = self.guardrail_breach()
        if reason is None:
            return False
        paused = Issue.objects.filter(
            pk=self.pk, status=Issue.Status.SENDING, guardrails_off=False
        ).update(status=Issue.Status.PAUSED, paused_at=timezone.now(), pause_reason=reason)
        self.refresh_from_db()
        return bool(paused)

    def _want_sender(self):
        pk = self.pk
        transaction.on_commit(lambda: sender_wanted.send(sender=Issue, issue_id=pk))

    def progress(self):
        """Deliveries by state: total, sent, failed, uncertain, skipped, waiting."""
        counts = self.deliveries.aggregate(
            total=Count("pk"),
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            uncertain=Count("pk", filter=Q(status=Delivery.Status.UNCERTAIN)),
            skipped=Count("pk", filter=Q(status=Delivery.Status.SKIPPED)),
        )
        counts["waiting"] = counts["total"] - sum(
            counts[key] for key in ("sent", "failed", "uncertain", "skipped")
        )
        return counts


class IssueArticle(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="items_set")
    article = models.ForeignKey(
        "articles.Article",
        verbose_name=_("article"),
        on_delete=models.CASCADE,
        related_name="newsletter_items",
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("article de la newsletter")
        verbose_name_plural = _("articles de la newsletter")
        constraints = [
            models.UniqueConstraint(fields=["issue", "article"], name="issue_article_once"),
        ]

    def __str__(self):
        return str(self.article)


class DeliveryQuerySet(models.QuerySet):
    def create_for(self, issue):
        """A waiting delivery for every subscriber of the issue's newsletter who
        has none for ``issue`` yet, in one statement. Returns how many were added."""
        # The one rule for who receives an issue (recipients_of()), compiled.
        recipients, params = (
            Subscriber.objects.recipients_of(issue.newsletter_id)
            .values("pk")
            .query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO newsletter_delivery
                    (issue_id, subscriber_id, status, message_id, error)
                SELECT %s, id, %s, '', '' FROM newsletter_subscriber
                WHERE id IN ({recipients})
                ON CONFLICT (issue_id, subscriber_id) DO NOTHING
                """,  # noqa: S608 (compiled SQL; every value is a parameter)
                [issue.pk, Delivery.Status.PENDING, *params],
            )
            return cursor.rowcount

    def claim(self, issue, size):
        """Take up to ``size`` waiting deliveries of ``issue`` for this sender;
        concurrent senders never get the same ones. Commits at once.

        Waiting deliveries whose reader no longer receives the issue's
        newsletter (recipients_of(), asked again now: they left it,
        unsubscribed, were blocked or erased since it was queued) are cancelled
        instead; so are those put back in the queue by recover() or
        resend_uncertain()."""
        with transaction.atomic():
            self.filter(issue=issue, status=Delivery.Status.PENDING).exclude(
                subscriber__in=Subscriber.objects.recipients_of(issue.newsletter_id)
            ).update(status=Delivery.Status.SKIPPED)
            ids = list(
                self.filter(issue=issue, status=Delivery.Status.PENDING)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:size]
            )
            self.filter(pk__in=ids).update(
                status=Delivery.Status.CLAIMED, claimed_at=timezone.now()
            )
        return list(self.filter(pk__in=ids).select_related("subscriber", "issue").order_by("pk"))

    def hand_over(self, delivery, message_id):
        """Mark a claimed delivery as being handed to the mail server (committed
        before the message leaves, so that a sender dying then leaves it
        uncertain, never sent twice), if its reader still receives the issue's
        newsletter: recipients_of() is asked in the same statement, so a reader
        who left while the batch was going out gets nothing. Otherwise the
        delivery is cancelled. Returns whether the message may leave."""
        claimed = self.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED)
        taken = claimed.filter(
            subscriber__in=Subscriber.objects.recipients_of(delivery.issue.newsletter_id)
        ).update(status=Delivery.Status.SENDING, message_id=message_id)
        if not taken:
            claimed.update(status=Delivery.Status.SKIPPED)
        return bool(taken)

    def recover(self, issue):
        """After a sender died: deliveries it claimed but never handed to SMTP go
        back in the queue; the one(s) it was handing over are uncertain (they may
        have left), never resent blindly. Returns the number now uncertain."""
        self.filter(issue=issue, status=Delivery.Status.CLAIMED).update(
            status=Delivery.Status.PENDING, claimed_at=None
        )
        return self.filter(issue=issue, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.UNCERTAIN
        )


class Delivery(models.Model):
    """One newsletter to one subscriber, sent at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        CLAIMED = "claimed", _("Prise en charge")
        SENDING = "sending", _("Remise au serveur de messagerie")
        SENT = "sent", _("Envoyée")
        FAILED = "failed", _("Échec")
        UNCERTAIN = "uncertain", _("Incertaine (envoi interrompu)")
        SKIPPED = "skipped", _("Annulée (désinscription entre-temps)")

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("envoi")
        verbose_name_plural = _("envois")
        constraints = [
            models.UniqueConstraint(fields=["issue", "subscriber"], name="delivery_once"),
        ]
        indexes = [
            models.Index(fields=["issue", "status"], name="delivery_state_idx"),
            # Bounces and complaints name the message they are about.
            models.Index(fields=["message_id"], name="delivery_message_id_idx"),
        ]

    def __str__(self):
        return f"{self.issue} → {self.subscriber}"


def _bare_message_id(value):
    return (value or "").strip().strip("<>").strip()


class MailEventQuerySet(models.QuerySet):
    def record(
        self,
        kind,
        *,
        key,
        message_id="",
        email="",
        at=None,
        source="",
        detail="",
        authenticated=False,
    ):
        """Record what the mail system said about a message (``kind``: a
        MailEvent.Kind), once per ``key`` (a webhook or a DSN read twice counts
        once), and act on it: a hard bounce or a complaint blocks the address,
        soft bounces block it after NEWSLETTER_SOFT_BOUNCE_LIMIT in a row, an
        unsubscription at the provider leaves the newsletter. Returns the
        event, or None when it was already recorded or concerns no subscriber
        (nothing is kept about unknown addresses).

        The message is found by its Message-ID. Only an ``authenticated``
        report (a provider's signed webhook) may fall back on the address's
        latest delivery: anyone can mail a report to the bounce address, so
        one from there acts only on a message of ours it names by Message-ID,
        and only if the recipient it names (if any: feedback reports often
        leave it out) is that message's."""
        at = at or timezone.now()
        delivery = None
        bare = _bare_message_id(message_id)
        if bare:
            delivery = (
                Delivery.objects.filter(message_id__in=[f"<{bare}>", bare])
                .select_related("subscriber", "issue")
                .first()
            )
        if not authenticated and (
            delivery is None or (email and email.lower() != delivery.subscriber.email.lower())
        ):
            return None
        if delivery is not None:
            subscriber = delivery.subscriber
        else:
            subscriber = (
                Subscriber.objects.filter(erased_at__isnull=True).with_email(email).first()
                if email
                else None
            )
            if subscriber is None:
                return None
            delivery = (
                subscriber.deliveries.filter(status=Delivery.Status.SENT, sent_at__lte=at)
                .select_related("issue")
                .order_by("-sent_at")
                .first()
            )
        if subscriber.erased_at is not None:
            return None
        # The log keeps no address: it would outlive an erasure.
        for address in {email, subscriber.email} - {""}:
            detail = re.sub(re.escape(address), "…", detail, flags=re.IGNORECASE)
        try:
            with transaction.atomic():
                event = self.create(
                    key=key[:255],
                    kind=kind,
                    subscriber=subscriber,
                    delivery=delivery,
                    issue=delivery.issue if delivery else None,
                    at=at,
                    source=source[:40],
                    detail=detail[:500],
                )
        except IntegrityError:
            return None  # already recorded
        if kind == MailEvent.Kind.HARD_BOUNCE:
            subscriber.suppress(Suppression.HARD_BOUNCE)
        elif kind == MailEvent.Kind.COMPLAINT:
            subscriber.suppress(Suppression.COMPLAINT)
        elif kind == MailEvent.Kind.SOFT_BOUNCE:
            if subscriber.soft_bounces_in_a_row() >= settings.NEWSLETTER_SOFT_BOUNCE_LIMIT:
                subscriber.suppress(Suppression.SOFT_BOUNCES)
        elif kind == MailEvent.Kind.UNSUBSCRIBED:
            if delivery is not None:
                subscriber.leave(
                    delivery.issue.newsletter,
                    ConsentEvent.Method.PROVIDER,
                    issue=delivery.issue,
                )
            elif subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                subscriber.unsubscribe(ConsentEvent.Method.PROVIDER)
        return event


class MailEvent(models.Model):
    """What the mail system said about a message after it left: from the
    provider's webhooks or from delivery status notifications (DSN) read in
    the bounce mailbox. Kept as the log of why an address is blocked."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", _("Distribué")
        SOFT_BOUNCE = "soft-bounce", _("Rebond temporaire")
        HARD_BOUNCE = "hard-bounce", _("Rebond définitif")
        COMPLAINT = "complaint", _("Plainte (indésirable)")
        UNSUBSCRIBED = "unsubscribed", _("Désinscription chez le fournisseur")

    key = models.CharField(max_length=255, unique=True, editable=False)
    kind = models.CharField(_("événement"), max_length=20, choices=Kind.choices)
    subscriber = models.ForeignKey(
        Subscriber, verbose_name=_("abonné"), on_delete=models.CASCADE, related_name="mail_events"
    )
    delivery = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="mail_events"
    )
    issue = models.ForeignKey(
        Issue,
        verbose_name=_("newsletter"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mail_events",
    )
    at = models.DateTimeField(_("date"), default=timezone.now)
    received_at = models.DateTimeField(_("reçu le"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    detail = models.CharField(_("détail"), max_length=500, blank=True)

    objects = MailEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("retour de messagerie")
        verbose_name_plural = _("retours de messagerie")
        indexes = [
            models.Index(fields=["issue", "kind"], name="mail_event_issue_idx"),
            models.Index(fields=["subscriber", "kind", "at"], name="mail_event_subscriber_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.at:%Y-%m-%d %H:%M}"
