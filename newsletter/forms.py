from django import forms
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

MAX_SOURCE_LENGTH = 500


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
    source = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        EmailValidator(
            message=_("Cette adresse e-mail n’est pas valide. Exemple : prenom@exemple.fr")
        )(email)
        return email

    def clean_source(self):
        return clean_source(self.cleaned_data.get("source", ""))
