import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Newsletter

MAX_SOURCE_LENGTH = 500
FORM_STAMP_SALT = "newsletter.form-started"
# A stamp is short-lived, so that one taken from a page cannot be replayed for
# long: a form left open longer asks the reader to send it again (keeping what
# they typed).
FORM_STAMP_MAX_AGE = 60 * 60 * 2
# Top-level domains reserved by RFC 2606 and RFC 6761: no mailbox exists there.
RESERVED_TOP_LEVEL_DOMAINS = {"invalid", "test", "example", "localhost", "local"}


def normalize_email(value: str) -> str:
    """Trim the address and lower-case its domain (the local part may be
    case-sensitive in theory, so it is kept as typed)."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{domain.lower()}"


def clean_source(value: str) -> str:
    """Keep the page the form was sent from only if it is a path on this site."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value[:MAX_SOURCE_LENGTH]


def form_stamp() -> str:
    """A signed time for the form, to tell people (who take a few seconds) from
    bots (which post at once)."""
    return signing.dumps(time.time(), salt=FORM_STAMP_SALT)


class NewsletterChoiceField(forms.ModelMultipleChoiceField):
    """Newsletters ticked on a form: a few at most, each checked to be offered
    (a made-up or repeated value is refused, never looked up a thousand times)."""

    MAX_VALUES = 20

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("Choisissez au moins une newsletter."),
                "invalid_choice": _("Cette newsletter n’est pas proposée : choisissez-en une."),
                "invalid_pk_value": _("Cette newsletter n’est pas proposée : choisissez-en une."),
                "invalid_list": _("Choisissez les newsletters dans la liste."),
            },
        )
        super().__init__(queryset, **kwargs)

    def clean(self, value):
        if isinstance(value, list | tuple) and len(value) > self.MAX_VALUES:
            raise forms.ValidationError(self.error_messages["invalid_list"], code="invalid_list")
        return super().clean(value)


class SubscribeForm(forms.Form):
    email = forms.CharField(
        label=_("Votre adresse e-mail"),
        max_length=254,
        error_messages={
            "required": _("Indiquez votre adresse e-mail."),
            "max_length": _("Cette adresse est trop longue (254 caractères au plus)."),
        },
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "placeholder": _("prenom@exemple.fr")}
        ),
    )
    newsletters = NewsletterChoiceField(Newsletter.objects.public())
    source = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
    # Honeypot: hidden from people (and from assistive technology), filled by bots.
    website = forms.CharField(required=False)
    started = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("started", form_stamp())
        self.looks_automated = False

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        EmailValidator(
            message=_("Cette adresse e-mail n’est pas valide. Exemple : prenom@exemple.fr")
        )(email)
        if email.rpartition("@")[2].rstrip(".").rpartition(".")[2] in RESERVED_TOP_LEVEL_DOMAINS:
            raise forms.ValidationError(
                _(
                    "Ce domaine est réservé : aucune boîte e-mail n’y existe. "
                    "Exemple : prenom@exemple.fr"
                ),
                code="reserved_domain",
            )
        return email

    def clean_source(self):
        return clean_source(self.cleaned_data.get("source", ""))

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("website"):
            self.looks_automated = True
        stamp = cleaned_data.get("started", "")
        try:
            started = signing.loads(stamp, salt=FORM_STAMP_SALT, max_age=FORM_STAMP_MAX_AGE)
        except signing.SignatureExpired:
            # A person who left the page open: ask again, with a fresh stamp.
            self.data = self.data.copy()
            self.data["started"] = form_stamp()
            raise forms.ValidationError(
                _(
                    "Ce formulaire était ouvert depuis longtemps : vérifiez votre adresse et "
                    "validez de nouveau."
                ),
                code="expired",
            ) from None
        except (signing.BadSignature, TypeError, ValueError):
            self.looks_automated = True
        else:
            if (
                not isinstance(started, int | float)
                or time.time() - started < settings.NEWSLETTER_MIN_FILL_SECONDS
            ):
                self.looks_automated = True
        return cleaned_data


class PreferencesForm(forms.Form):
    """A subscriber's choices on their preferences page, among ``offered``."""

    SAVE = "save"
    LEAVE_ALL = "leave-all"

    newsletters = NewsletterChoiceField(Newsletter.objects.none(), required=False)
    action = forms.ChoiceField(
        choices=[(SAVE, SAVE), (LEAVE_ALL, LEAVE_ALL)],
        required=False,
        error_messages={"invalid_choice": _("Ce choix n’existe pas : réessayez.")},
    )

    def __init__(self, *args, offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletters"].queryset = offered

    def leaves_all(self):
        return (
            self.cleaned_data.get("action") == self.LEAVE_ALL
            or not self.cleaned_data["newsletters"]
        )


class ScheduleForm(forms.Form):
    """When to send an issue, in the newsroom's time zone."""

    send_at = forms.SplitDateTimeField(
        label=_("Date et heure d’envoi"),
        widget=forms.SplitDateTimeWidget(
            date_attrs={"type": "date"},
            time_attrs={"type": "time"},
            date_format="%Y-%m-%d",
            time_format="%H:%M",
        ),
        error_messages={
            "required": _("Indiquez la date et l’heure d’envoi."),
            "incomplete": _("Indiquez la date et l’heure d’envoi."),
            "invalid_date": _("Cette date n’est pas valide. Exemple : 24/04/2026."),
            "invalid_time": _("Cette heure n’est pas valide. Exemple : 08:30."),
        },
    )

    def clean_send_at(self):
        send_at = self.cleaned_data["send_at"]
        if send_at <= timezone.now():
            raise forms.ValidationError(
                _("Ce moment est passé : choisissez une date et une heure à venir.")
            )
        return send_at
