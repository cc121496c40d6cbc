"""axe-core finds no serious or critical accessibility violation on the pages
readers use."""

import pytest

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
