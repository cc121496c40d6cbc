import copy

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Article, ArticleNote, Correction, PreviewLink
from .presentation import french_datetime
from .revisions import EDITABLE_FIELDS

FOCAL_POINT = ("hero_focal_x", "hero_focal_y")


class ArticleAdminForm(forms.ModelForm):
    """The article form of the admin. Refuses a stale copy (someone saved the
    article since this form was loaded) and an incomplete article being published."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Article
        fields = EDITABLE_FIELDS
        widgets = {
            name: forms.NumberInput(attrs={"step": "0.001", "min": "0", "max": "1"})
            for name in FOCAL_POINT
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loaded_version"].initial = self.instance.version
        for name in FOCAL_POINT:
            if name in self.fields:
                # Set by the picker; a post without it keeps the stored point.
                self.fields[name].required = False

    def clean_hero_focal_x(self):
        return self._focal("hero_focal_x")

    def clean_hero_focal_y(self):
        return self._focal("hero_focal_y")

    def _focal(self, name):
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value is None else value

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk:
            self._refuse_stale_copy(cleaned_data.get("loaded_version"))
        if cleaned_data.get("status") == Article.Status.PUBLISHED:
            self._check_publishable(cleaned_data)
        self._check_translation(cleaned_data)
        return cleaned_data

    def _check_translation(self, cleaned_data):
        candidate = copy.copy(self.instance)
        for name in ("original_language", "original_title", "original_url"):
            setattr(candidate, name, cleaned_data.get(name) or "")
        translators = cleaned_data.get("translators")
        problems = candidate.translation_problems(
            translators=list(translators) if translators is not None else []
        )
        for field, message in problems.items():
            self.add_error(field, message)

    def _refuse_stale_copy(self, loaded_version):
        # The admin saves inside a transaction: the row lock taken here holds until
        # this save commits, so two saves of the same version cannot both pass.
        current = (
            Article.objects.select_for_update(of=("self",))
            .select_related("updated_by")
            .only("version", "updated_at", "updated_by__username")
            .get(pk=self.instance.pk)
        )
        if loaded_version == current.version:
            return
        who = current.updated_by.get_username() if current.updated_by else _("quelqu’un")
        changes_url = reverse("admin:articles_article_revisions", args=[self.instance.pk])
        if loaded_version is not None:
            changes_url += f"?depuis={loaded_version}"
        raise ValidationError(
            format_html(
                '{} <a href="{}" target="_blank" rel="noopener">{}</a> {}',
                _(
                    "Cet article a été modifié par %(who)s le %(when)s, pendant que vous "
                    "l’éditiez. Pour ne rien écraser, votre version n’a pas été "
                    "enregistrée ; vos modifications sont toujours dans ce formulaire."
                )
                % {
                    "who": who,
                    "when": french_datetime(current.updated_at),
                },
                changes_url,
                _("Voir ce qui a changé"),
                _(
                    "puis rechargez l’article et reportez-y vos modifications "
                    "(copiez-les d’abord)."
                ),
            ),
            code="stale",
        )

    def _check_publishable(self, cleaned_data):
        candidate = copy.copy(self.instance)
        for name in ("title", "standfirst", "hero_image_alt"):
            setattr(candidate, name, cleaned_data.get(name) or "")
        section = cleaned_data.get("section")
        candidate.section_id = section.pk if section else None
        authors = cleaned_data.get("authors")
        problems = candidate.publication_problems(
            authors=list(authors) if authors is not None else [],
            has_hero_image=bool(cleaned_data.get("hero_image")),
        )
        for field, message in problems.items():
            if field in self.fields:
                self.add_error(field, message)
            else:
                self.add_error(None, message)


class PreviewLinkForm(forms.ModelForm):
    revoke = forms.BooleanField(label=gettext_lazy("Révoquer"), required=False)

    class Meta:
        model = PreviewLink
        fields = ["recipient"]

    def save(self, commit=True):
        if self.cleaned_data.get("revoke") and not self.instance.has_ended:
            self.instance.revoked_at = timezone.now()
        return super().save(commit=commit)


class CorrectionForm(forms.ModelForm):
    class Meta:
        model = Correction
        fields = ["corrected_at", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "cols": 60})}


class ArticleNoteForm(forms.ModelForm):
    """A review note: added on the article's page, or written by an editor
    sending the article back to its author. Its fields are prefixed (``note-``)
    so that they never mix with the article form's."""

    prefix = "note"

    class Meta:
        model = ArticleNote
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4, "cols": 70})}
