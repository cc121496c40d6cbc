"""axe-core finds no serious or critical accessibility violation on the pages
readers use."""

from urllib.parse import urlsplit

import pytest

from tests.factories import make_newsletter, make_subscriber
from tests.tools import AXE, require_axe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGES = {
    "home": "/",
    "section": "/rubrique/economie/",
    "article": "/article/astana-echanges/",
    "search": "/recherche/?q=kirghizistan",
    "newsletter": "/newsletter/",
}


def serious_violations(page):
    # Evaluated by the browser's devtools protocol, not as a <script> element:
    # the page's Content-Security-Policy refuses inline scripts, rightly.
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}));
        }"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violations(page, site, name):
    """No serious or critical axe-core violation on the page."""
    require_axe()
    page.goto(PAGES[name])
    assert serious_violations(page) == []


def test_the_check_catches_a_real_violation(page, site):
    """The axe check is not vacuous: an image without text alternative is reported."""
    require_axe()
    page.goto("/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<img src=\"/static/images/logo.png\">')"
    )
    assert "image-alt" in {violation["id"] for violation in serious_violations(page)}


def test_the_preferences_page_has_no_serious_violations(page, site):
    """The page every email links to (checkboxes for two newsletters, one of
    them chosen, and the two buttons) passes the same check."""
    require_axe()
    make_newsletter(name="Alertes", slug="alertes", position=2)
    subscriber = make_subscriber(email="lectrice@exemple.kz", status="confirmed")
    page.goto(urlsplit(subscriber.preferences_url()).path)
    assert page.get_by_role("checkbox").count() == 2
    assert serious_violations(page) == []
