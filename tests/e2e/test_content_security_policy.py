"""The Content-Security-Policy in a real browser: public pages and the editor
work under it (every browser test fails on a refusal, see conftest.py), and it
does refuse what it should."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_public_pages_refuse_foreign_and_inline_code(page, site):
    """A foreign image and an inline script injected into an article page are
    refused by the policy (and so reported), while the page itself loads clean."""
    article = site["articles"][0]
    page.goto(article.get_absolute_url())
    assert page.csp_refusals == []
    page.csp_refusals_expected = True
    page.evaluate(
        """() => {
            const image = document.createElement('img');
            image.src = 'https://tracker.example/pixel.png';
            document.body.append(image);
            const script = document.createElement('script');
            script.textContent = 'window.ran = true';
            document.body.append(script);
        }"""
    )
    page.wait_for_function("() => true")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ran === undefined")
    assert any("script" in text for text in page.csp_refusals), page.csp_refusals
    assert any("img-src" in text for text in page.csp_refusals), page.csp_refusals
