"""The French catalogue: complete, compiled, current, and applied wherever staff,
readers and subscribers read text."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from newsletter.models import Subscriber
from newsroom import package_strings
from tests.factories import make_user

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unquote(lines):
    return "".join(
        re.fullmatch(r'"(.*)"', line)
        .group(1)
        .encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode()
        for line in lines
    )


def read_po(path):
    """{(context, msgid): translation}, where a plural entry's translation is the
    tuple of its forms. The header entry is left out."""
    entries = {}
    for block in path.read_text().split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            keyword = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) ", line)
            if keyword:
                current = keyword.group(1)
                fields[current] = [line[keyword.end() :]]
            else:
                fields[current].append(line)
        if "msgid" not in fields:
            continue
        text = {name: _unquote(lines) for name, lines in fields.items()}
        if text["msgid"] == "":
            continue
        key = (text.get("msgctxt"), text["msgid"], text.get("msgid_plural"))
        if "msgid_plural" in text:
            entries[key] = tuple(text[name] for name in sorted(text) if name.startswith("msgstr["))
        else:
            entries[key] = text["msgstr"]
    return entries


def test_every_message_is_translated_and_the_compiled_catalogue_matches():
    """Each entry of django.po has a translation (both French plural forms for a
    plural), and django.mo, which Django reads, says exactly what django.po says."""
    entries = read_po(CATALOGUE / "django.po")
    assert len(entries) > 300
    untranslated = [key for key, value in entries.items() if not all(value)]
    assert untranslated == []
    with open(CATALOGUE / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    assert catalogue.info()["plural-forms"] == "nplurals=2; plural=(n > 1);"
    for (context, msgid, plural), translated in entries.items():
        if plural is None:
            found = catalogue.pgettext(context, msgid) if context else catalogue.gettext(msgid)
            assert found == translated, msgid
        else:
            assert len(translated) == 2, msgid
            assert catalogue.ngettext(msgid, plural, 1) == translated[0], msgid
            assert catalogue.ngettext(msgid, plural, 2) == translated[1], msgid


@pytest.mark.skipif(
    shutil.which("xgettext") is None and not IN_CI,
    reason="xgettext (Debian package gettext) is not installed; CI installs it",
)
def test_the_catalogue_holds_every_message_of_the_code(tmp_path):
    """`make messages` would add nothing: every translatable string of the code and
    templates is in django.po (run on a copy of the sources)."""
    base = Path(settings.BASE_DIR)
    for folder in (
        "articles",
        "newsletter",
        "newsroom",
        "templates",
        "public_templates",
        "locale",
    ):
        shutil.copytree(base / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(base / "manage.py", tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        check=True,
    )
    current = read_po(tmp_path / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    committed = read_po(CATALOGUE / "django.po")
    assert sorted(current.keys() - committed.keys(), key=str) == []
    assert sorted(committed.keys() - current.keys(), key=str) == []


def test_french_plurals_apply():
    """French uses the singular for 0 and 1: « 0 abonné désinscrit. »."""
    with translation.override("fr"):
        assert translation.ngettext("%d abonné désinscrit.", "%d abonnés désinscrits.", 0) == (
            "%d abonné désinscrit."
        )
        assert translation.ngettext("%d abonné désinscrit.", "%d abonnés désinscrits.", 2) == (
            "%d abonnés désinscrits."
        )


@pytest.mark.django_db
def test_the_admin_action_reports_zero_in_the_singular(admin_client):
    """Unsubscribing an already unsubscribed reader reports « 0 abonné désinscrit. »."""
    subscriber = Subscriber.objects.create(email="parti@example.org")
    subscriber.status = Subscriber.Status.UNSUBSCRIBED
    subscriber.save()
    response = admin_client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "unsubscribe", "_selected_action": [subscriber.pk]},
        follow=True,
    )
    assert "0 abonné désinscrit." in response.content.decode()


@pytest.mark.django_db
def test_packages_strings_are_translated():
    """Strings of installed packages that ship no French have a translation of ours."""
    with translation.override("fr"):
        for message in package_strings.TASK_RESULT:
            assert translation.gettext(message) != message
        for status in package_strings.TASK_STATUS:
            assert str(status) not in {"Ready", "Running", "Failed", "Successful"}


ENGLISH = re.compile(
    r"\b(Home|Tasks?|Results?|Database|Backend|Journalist|Editor|traceback|run after|"
    r"enqueued at|name|queue|object|Ready|Successful|View)\b"
)


@pytest.mark.django_db
def test_the_task_queue_and_the_groups_read_french_in_the_admin(admin_client, settings):
    """The task list, a task's page and the groups show no English."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}
    from newsletter.tasks import send_issue_task

    send_issue_task.enqueue(0)
    result = DBTaskResult.objects.get()
    pages = {
        "index": reverse("admin:index"),
        "tasks": reverse("admin:newsroom_taskresult_changelist"),
        "task": reverse("admin:newsroom_taskresult_change", args=[result.pk]),
        "groups": reverse("admin:auth_group_changelist"),
    }
    content = {name: admin_client.get(url).content.decode() for name, url in pages.items()}
    assert "Tâches de fond" in content["index"]
    assert "Tâches de fond" in content["tasks"] and "Prête" in content["tasks"]
    assert "send_issue_task, mise en file le" in content["task"]
    assert "Trace de l’erreur" in content["task"] and "À lancer après" in content["task"]
    assert "Journaliste" in content["groups"] and "Éditeur" in content["groups"]
    for name, html in content.items():
        assert ENGLISH.findall(re.sub(r"<[^>]+>", " ", html)) == [], name
    assert sorted(Group.objects.values_list("name", flat=True)) == ["Journaliste", "Éditeur"]


@pytest.mark.django_db
def test_error_pages_are_french(client, settings):
    """A bad request, a refused one and a refused form answer in French, with lang="fr"."""
    settings.ALLOWED_HOSTS = ["testserver"]
    bad = client.get("/", headers={"host": "mauvais hôte"})
    staff = make_user(perms=["newsletter.view_subscriber"])
    client.force_login(staff)
    refused = client.post(reverse("articles:editor-image-upload"))
    csrf_client = Client(enforce_csrf_checks=True)
    expired = csrf_client.post(reverse("admin:login"), {"username": "a", "password": "b"})
    for response, status, text in (
        (bad, 400, "Requête invalide"),
        (refused, 403, ""),
        (expired, 403, "Le formulaire a expiré"),
    ):
        assert response.status_code == status
        html = response.content.decode()
        assert '<html lang="fr"' in html
        assert text in html


def test_messages_of_jinja2_templates_are_read_as_gettext_calls():
    """makemessages reads the public templates (Jinja2): each message becomes a
    gettext call on its own line, with its context and plural; a message that
    is not a literal (``_(variable)``) has nothing to extract and is skipped."""
    from newsroom.management.commands.makemessages import jinja_to_python

    source = (
        '{{ _("Une") }}\n'
        "{{ _(variable) }}\n"
        '{{ pgettext("menu", "Deux") }}\n'
        "{% trans n=3 %}{{ n }} article{% pluralize %}{{ n }} articles{% endtrans %}\n"
    )
    assert jinja_to_python(source).splitlines() == [
        '_("Une"); ',
        "",
        'pgettext("menu", "Deux"); ',
        'ngettext("%(n)s article", "%(n)s articles", n); ',
        "",  # the source's last line, after its final newline
    ]


def test_public_templates_read_the_catalogue_with_french_plurals():
    """The public templates ask the site's catalogue directly, whatever
    language is active (here English, whose plural rule would write « 0
    résultats »): its French plural forms apply (0 and 1 in the singular), a
    message it does not hold reads as written, with or without a context."""
    from django.template import engines

    template = engines["jinja"].from_string(
        "{% for n in (0, 1, 2) %}"
        "{% trans counter=n %}{{ counter }} résultat{% pluralize counter %}"
        "{{ counter }} résultats{% endtrans %}|{% endfor %}"
        '{{ _("Un message absent") }}|{{ pgettext("menu", "Absent aussi") }}|'
        '{{ npgettext("menu", "%(num)s absent", "%(num)s absents", 2) }}'
    )
    with translation.override("en"):
        rendered = template.render({})
    assert rendered == "0 résultat|1 résultat|2 résultats|Un message absent|Absent aussi|2 absents"


def test_messages_translated_when_templates_compile_read_as_at_run_time():
    """The public templates translate their messages without variables when
    they are compiled, no longer at each rendering: what a page shows is what
    the i18n extension would have shown (translation, plural forms, a literal
    percent sign, markup in a message, autoescaping of the values around)."""
    from jinja2 import Environment

    from newsroom.jinja import _SiteCatalogue, environment

    source = (
        '{{ _("Les plus lus") }}|{{ gettext("Partager") }}|{% trans %}Newsletter{% endtrans %}|'
        '{{ _("100 %% sûr") }}|{{ _("a <b>gras</b>") }}|{{ value }}|'
        "{% trans counter=n %}{{ counter }} résultat{% pluralize counter %}"
        "{{ counter }} résultats{% endtrans %}|{{ _(variable) }}"
    )
    values = {"value": "<i>", "n": 0, "variable": "Partager"}
    compiled = environment(autoescape=True).from_string(source)
    as_written = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    as_written.install_gettext_translations(_SiteCatalogue(), newstyle=True)
    expected = as_written.from_string(source).render(values)
    assert compiled.render(values) == expected
    assert expected == (
        "Les plus lus|Partager|Newsletter|100 % sûr|a <b>gras</b>|&lt;i&gt;|0 résultat|Partager"
    )
    # Compiled in: the code run for the page writes the text, it no longer
    # asks for it ("resolve('_')" is the look-up of the gettext function).
    generated = environment(autoescape=True).compile('{{ _("Les plus lus") }}', raw=True)
    assert "yield 'Les plus lus'" in generated and "resolve('_')" not in generated
