"""One module cleans text and HTML: text stays text, links are linkified, HTML is sanitised."""

import pytest

from agora.services.errors import Invalid, TooLarge
from agora.services.sanitize import clean_html, clean_text, render_text


def test_text_is_escaped_and_links_made_clickable():
    html = str(render_text("<script>alert(1)</script> see https://example.org/x?a=1&b=2"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://example.org/x?a=1&amp;b=2"' in html
    assert "nofollow" in html


def test_javascript_urls_are_not_linkified():
    html = str(render_text("javascript:alert(1)"))
    assert "<a" not in html


def test_clean_text_normalises_and_strips_controls():
    assert clean_text("  caf\u0065\u0301\x00\u202e ok \r\n", max_chars=100) == "café ok"


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", None])
def test_empty_text_is_refused(raw):
    with pytest.raises(Invalid):
        clean_text(raw, max_chars=100)


def test_too_long_text_is_refused_with_the_limit_in_the_message():
    with pytest.raises(TooLarge) as error:
        clean_text("x" * 5001, max_chars=5000)
    assert "5,000" in error.value.message


def test_binary_text_is_refused():
    with pytest.raises(Invalid):
        clean_text(b"\xff\xfe\x00garbage", max_chars=100)


@pytest.mark.parametrize(
    "payload",
    [
        "<svg><animate onbegin=alert(1) attributeName=x></svg>",
        "<math><annotation-xml encoding='text/html'><img src=x onerror=alert(1)></annotation-xml></math>",
        "<svg><set attributeName=onload to=alert(1)></svg>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>",
        "<p style='background:url(javascript:alert(1))'>x</p>",
        "<iframe src=//evil></iframe>",
        "<script>alert(1)</script>",
    ],
)
def test_briefing_html_drops_scripts_svg_and_mathml(payload):
    cleaned = clean_html(payload).lower()
    for forbidden in ("<svg", "<math", "<script", "onerror", "onbegin", "javascript:", "<iframe", "style="):
        assert forbidden not in cleaned


def test_briefing_keeps_formatting():
    cleaned = clean_html('<h3>Questions</h3><ul><li><a href="https://un.org">UN</a></li></ul>')
    assert "<h3>Questions</h3>" in cleaned and 'href="https://un.org"' in cleaned
