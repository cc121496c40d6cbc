"""The filters Django templates use (the admin, the sitemaps, emails); the
public pages are Jinja2 templates and get them from newsroom/jinja.py."""

from django import template

from articles import presentation

register = template.Library()

for _filter in (
    presentation.french_date,
    presentation.french_datetime,
    presentation.iso,
    presentation.one_line,
    presentation.xml_safe,
):
    register.filter(_filter.__name__, _filter)
