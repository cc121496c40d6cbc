"""Django's makemessages, which also reads the Jinja2 templates of public_templates/.

Django hands every non-Python file to xgettext as its own template language
turned into Python; a Jinja2 template is turned into Python here instead: a
gettext call for each message Jinja2 finds in it (``_()`` and ``{% trans %}``
blocks, parsed by the same environment that renders the pages), on the line
where it stands, so references in django.po point at the template."""

import json
from pathlib import Path

from django.core.management.commands import makemessages

from newsroom.jinja import environment

JINJA_FOLDER = "public_templates"


# How many strings each gettext function takes before its count, if any.
STRINGS = {"_": 1, "gettext": 1, "pgettext": 2, "ngettext": 2, "npgettext": 3}


def jinja_to_python(source: str) -> str:
    lines = [""] * (source.count("\n") + 1)
    for lineno, function, message in environment().extract_translations(source):
        arguments = (message,) if isinstance(message, str | None) else message
        strings = arguments[: STRINGS.get(function, 1)]
        if not all(isinstance(string, str) for string in strings):
            continue  # _(variable): nothing to extract, as Django's own templatize
        literals = ", ".join(json.dumps(string, ensure_ascii=False) for string in strings)
        if function in ("ngettext", "npgettext"):
            literals += ", n"
        lines[lineno - 1] += f"{function}({literals}); "
    return "\n".join(lines) + "\n"


class BuildFile(makemessages.BuildFile):
    def preprocess(self):
        if self.is_templatized and Path(self.path).parts[0] == JINJA_FOLDER:
            source = Path(self.path).read_text(encoding="utf-8")
            Path(self.work_path).write_text(jinja_to_python(source), encoding="utf-8")
            return
        super().preprocess()


class Command(makemessages.Command):
    build_file_class = BuildFile
