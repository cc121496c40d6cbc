"""The public pages are Jinja2 templates (public_templates/): the site's readers get
them, and the page cache stores them, but a page the cache does not hold, or
may not hold (after an edit, search, the long tail of old articles), is
rendered for each request. Django's template language resolves every
variable at run time, a few microseconds each, and a listing page has
hundreds; Jinja2 compiles templates to Python (measured on the article page:
see the closing note of issue 8). The admin, the sitemaps and the emails stay
Django templates: they are rendered rarely, or by the worker.

The templates get the Python helpers of articles.presentation and
newsletter.presentation: a helper that feeds a partial (a card, a picture…)
is wrapped here to render it, so the markup stays in the partial."""

import functools

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import defaultfilters
from django.template.backends import jinja2 as django_jinja2
from django.test.signals import template_rendered
from django.utils.translation import trans_real
from jinja2 import Environment, Undefined, nodes, pass_context
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from articles import presentation
from newsletter import presentation as newsletter_presentation
from newsroom.links import path_of, static_url
from newsroom.pagecache import clock_cached
from newsroom.rendering import one_rendering, prefix_and_urlconf


def _partial(template_name, values, takes_request=False):
    """A global that renders ``template_name`` with what ``values`` returns."""

    @pass_context
    @functools.wraps(values)
    def render(context, *args, **kwargs):
        if takes_request:
            args = (context.get("request"), *args)
        template = context.environment.get_template(template_name)
        return Markup(template.render(values(*args, **kwargs)))

    return render


def _macro(template_name, values, remembered=False):
    """A global that calls the ``render`` macro of ``template_name`` with what
    ``values`` returns: for the partials a listing repeats (cards, pictures),
    a macro call costs less than a template rendering (measured: 30 cards,
    2.5 ms as templates, 2.0 ms as macros).

    ``remembered``: the macro's answers are kept by their arguments (the
    latest REMEMBERED_RENDERINGS). A macro's markup depends on its arguments
    alone, so the same values give the same markup, and changed values
    (an edited title, a renamed section, another time zone) are another key:
    nothing to invalidate. Cards are the same on the home page, the section
    and tag pages, « À lire aussi » and « Les plus lus »: placing a card's
    values again cost about as much as preparing them."""

    @pass_context
    @functools.wraps(values)
    def render(context, *args, **kwargs):
        arguments = values(*args, **kwargs)
        template = context.environment.get_template(template_name)
        if not remembered:
            return template.module.render(**arguments)
        key = (template, _frozen(arguments))
        try:
            markup = _rendered.get(key)
        except TypeError:  # a value that cannot be a key
            return template.module.render(**arguments)
        if markup is None:
            markup = template.module.render(**arguments)
            while len(_rendered) >= REMEMBERED_RENDERINGS:
                try:
                    del _rendered[next(iter(_rendered))]  # the oldest
                except (KeyError, RuntimeError, StopIteration):
                    break  # another thread made room
            _rendered[key] = markup
        return markup

    return render


REMEMBERED_RENDERINGS = 2048  # about 1 kB of markup each
_rendered: dict = {}


def _frozen(value):
    """``value`` (dicts, lists, strings, numbers) as a key, types included: text
    marked safe is not the same key as the same characters unescaped, nor 1.0
    as 1. The plain values of a level are keyed in one comprehension, without
    a call each (a home page freezes thirty cards of a dozen values)."""
    kind = type(value)
    if kind is dict:
        return (
            dict,
            tuple(
                [
                    (name, type(item), item) if type(item) in _PLAIN else (name, _frozen(item))
                    for name, item in value.items()
                ]
            ),
        )
    if kind is list or kind is tuple:
        return (
            kind,
            tuple(
                [(type(item), item) if type(item) in _PLAIN else _frozen(item) for item in value]
            ),
        )
    if isinstance(value, dict):  # a subclass, keyed with its own type
        return (kind, tuple((name, _frozen(item)) for name, item in value.items()))
    if isinstance(value, list | tuple):
        return (kind, tuple(_frozen(item) for item in value))
    return (kind, value)


# Values keyed as they are: their type and themselves.
_PLAIN = frozenset({str, Markup, int, float, bool, type(None)})


NAVIGATION_CACHE_KEY = "navigation"


class _SiteCatalogue:
    """The site's one catalogue (LANGUAGE_CODE), asked directly by the
    templates: the public site has one language, and django.utils.translation
    first looks up the active one in a thread- and task-local, which costs
    more than the lookup itself, fifty times a page. Its message ids are
    French: the catalogue adds the plural forms."""

    def __init__(self):
        self.catalogue = trans_real.translation(settings.LANGUAGE_CODE)

    def gettext(self, message):
        # An empty message id would read the catalogue's header.
        return self.catalogue.gettext(message) if message else ""

    def ngettext(self, singular, plural, number):
        return self.catalogue.ngettext(singular, plural, number)

    def pgettext(self, context, message):
        # (Keys are built first: xgettext reads literal arguments only.)
        key = f"{context}{trans_real.CONTEXT_SEPARATOR}{message}"
        found = self.catalogue.gettext(key)
        return message if trans_real.CONTEXT_SEPARATOR in found else found

    def npgettext(self, context, singular, plural, number):
        separator = trans_real.CONTEXT_SEPARATOR
        keys = f"{context}{separator}{singular}", f"{context}{separator}{plural}"
        found = self.catalogue.ngettext(*keys, number)
        if separator in found:
            return self.catalogue.ngettext(singular, plural, number)
        return found


@pass_context
def navigation(context, current=""):
    """The menu, rendered once while content is unchanged, for each section
    that can be the current one."""
    template = context.environment.get_template("includes/navigation.html")

    def menu():
        sections = presentation.navigation_sections()
        return Markup(template.render({"sections": sections, "current": current}))

    # Its links depend on the prefix the site is served under.
    name = f"{NAVIGATION_CACHE_KEY}:{prefix_and_urlconf()[0]}:{current}"
    return clock_cached(name, menu, 3600)


class _TranslatingEnvironment(Environment):
    """Messages without variables are translated when a template is compiled:
    the site's catalogue does not change while the process runs, and each
    {{ _("…") }} or {% trans %}…{% endtrans %} costs three calls at every
    rendering otherwise (fifty on the home page). The result is what the i18n
    extension's newstyle gettext returns: the translation, %-formatted with no
    variables, marked safe when autoescaping."""

    catalogue = None

    def _generate(self, source, name, filename, defer_init=False):
        # Here, not in parse(): makemessages reads the messages of the parsed
        # templates (Environment.extract_translations).
        source = _ConstantMessages(self.catalogue).visit(source)
        return super()._generate(source, name, filename, defer_init=defer_init)


class _ConstantMessages(NodeTransformer):
    def __init__(self, catalogue):
        self.catalogue = catalogue

    def visit_Call(self, call):
        call = self.generic_visit(call)
        message = call.args[0] if len(call.args) == 1 else None
        if not (
            isinstance(call.node, nodes.Name)
            and call.node.name in ("_", "gettext")
            and isinstance(message, nodes.Const)
            and isinstance(message.value, str)
            and not (call.kwargs or call.dyn_args or call.dyn_kwargs)
        ):
            return call
        try:
            text = self.catalogue.gettext(message.value) % {}
        except (TypeError, ValueError, KeyError):
            return call  # left to run as written, and fail there as it would have
        return nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=call.lineno)


def environment(**options):
    # An unknown variable is empty, as in Django templates, with DEBUG too
    # (Django's backend would print it as {{ name }} there).
    options["undefined"] = Undefined
    env = _TranslatingEnvironment(extensions=["jinja2.ext.i18n"], **options)
    env.catalogue = _SiteCatalogue()
    env.install_gettext_translations(env.catalogue, newstyle=True)
    env.policies["ext.i18n.trimmed"] = True
    env.globals.update(
        url=path_of,
        static=static_url,
        site_name=settings.SITE_NAME,
        navigation=navigation,
        article_card=_macro("includes/_card.html", presentation.article_card, remembered=True),
        hero_picture=_macro("includes/_picture.html", presentation.hero_picture),
        most_read=_partial("includes/_most_read.html", presentation.most_read),
        share_links=_partial("includes/_share_links.html", presentation.share_links),
        translation_credit=_partial(
            "includes/_translation_credit.html", presentation.translation_credit
        ),
        page_meta=_partial("includes/_page_meta.html", presentation.page_meta, True),
        pagination=_partial("includes/pagination.html", presentation.pagination),
        newsletter_form=_partial(
            "includes/newsletter_form.html", newsletter_presentation.newsletter_form, True
        ),
        article_json_ld=presentation.article_json_ld,
        social_image_url=presentation.social_image_url,
    )
    env.filters.update(
        iso=presentation.iso,
        french_date=presentation.french_date,
        french_datetime=presentation.french_datetime,
        was_updated=presentation.was_updated,
        rich_text=presentation.rich_text,
        linebreaks=defaultfilters.linebreaks_filter,
        linebreaksbr=defaultfilters.linebreaksbr,
        filesizeformat=defaultfilters.filesizeformat,
        intcomma=intcomma,
    )
    return env


class Template(django_jinja2.Template):
    def render(self, context=None, request=None):
        if context is None:
            context = {}
        with one_rendering():
            html = super().render(context, request)
        # As Django's own templates do under the test runner (with no
        # receiver outside tests, sending costs one check): the test client
        # then reads response.context.
        template_rendered.send(sender=self, template=self, context=context)
        return html


class Jinja2(django_jinja2.Jinja2):
    """Django's Jinja2 backend, whose templates say they were rendered."""

    def from_string(self, template_code):
        return Template(super().from_string(template_code).template, self)

    def get_template(self, template_name):
        return Template(super().get_template(template_name).template, self)
