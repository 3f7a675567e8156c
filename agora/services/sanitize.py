"""The one place that cleans text and HTML.

User text is stored as text and shown escaped; bleach only linkifies the escaped text.
The little HTML we accept (a briefing's formatting) goes through nh3 (Ammonia), a maintained
sanitiser, with SVG and MathML never allowed: bleach is archived and gets no security fixes.
"""

import re
import unicodedata
from functools import lru_cache

import bleach
import nh3
from markupsafe import Markup, escape

from agora.services.errors import Invalid, TooLarge

# C0/C1 control characters except tab, newline and carriage return; plus bidi overrides
# that can make text display differently from what is stored (Trojan-source style).
_CONTROL_RANGES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROL_RANGES}]")
# What str.strip() removes (no whitespace lies outside the first 65,536 code points).
_WHITESPACE = "".join(f"\\u{code:04x}" for code in range(0x10000) if chr(code).isspace())
# A JSON Schema "pattern" (read alike by ECMA-262 and Python's re) that a text matches exactly when
# clean_text leaves something of it: the API's description says which texts are accepted (a text of only
# whitespace and control characters is not), so a client can check before sending.
VISIBLE_TEXT_PATTERN = f"[^{_CONTROL_RANGES}{_WHITESPACE}]"
_BLANK_LINES = re.compile(r"\n{3,}")

BRIEFING_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "abbr",
    "hr",
}
BRIEFING_ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "abbr": {"title"}, "th": {"scope"}}


def refuse_invalid_unicode(value: object, *, field: str | None = None) -> None:
    """Raise Invalid (422, code "encoding") if ``value`` (a string, or a JSON structure of them,
    keys included) holds a lone surrogate (U+D800 to U+DFFF). JSON's escape "\\ud800" decodes to
    one; it is not a character, cannot be encoded as UTF-8 and so cannot be stored. Adapters call
    this on a whole JSON body or socket payload; clean_text calls it on every text."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise Invalid(
                    "The text holds an invalid character (a lone UTF-16 surrogate); send valid Unicode.",
                    field=field,
                    code="encoding",
                ) from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def clean_text(raw: object, *, max_chars: int, field: str = "text") -> str:
    """Normalise user text (NFC, no control characters, trimmed) or raise Invalid/TooLarge."""
    if raw is None:
        raise Invalid("Please write something before sending.", field=field, code="empty")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("The text is not valid UTF-8.", field=field, code="encoding") from None
    if not isinstance(raw, str):
        raise Invalid("The text must be a string.", field=field, code="type")
    refuse_invalid_unicode(raw, field=field)
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if not text:
        raise Invalid("Please write something before sending.", field=field, code="empty")
    if len(text) > max_chars:
        raise TooLarge(
            f"The text is {len(text):,} characters long; the limit is {max_chars:,}.",
            field=field,
        )
    return text


def clean_line(raw: object, *, max_chars: int, field: str) -> str:
    """A single-line field (names, titles): clean_text without newlines."""
    return " ".join(clean_text(raw, max_chars=max_chars, field=field).split())


# Anything bleach could turn into a link: a scheme, "www.", or a bare domain name.
_MAYBE_LINK = re.compile(r"https?://|www\.|[a-z0-9-]\.[a-z]{2,}", re.IGNORECASE)


@lru_cache(maxsize=4096)  # a pure function of the text, and every page shows the same views again
def render_text(text: str) -> Markup:
    """Escaped text with links made clickable (rel=nofollow ugc) and line breaks kept.

    bleach parses HTML to linkify, which is most of a page's rendering time; text that holds
    nothing link-like skips it (same output, a fraction of the cost)."""
    if not _MAYBE_LINK.search(text):
        return Markup(str(escape(text)).replace("\n", "<br>\n"))
    linked = bleach.linkify(
        str(escape(text)),
        callbacks=[bleach.callbacks.nofollow, _ugc_target],
        parse_email=False,
    )
    return Markup(linked.replace("\n", "<br>\n"))


def _ugc_target(attrs: dict, new: bool = False) -> dict:  # a bleach linkify callback
    attrs[(None, "rel")] = "nofollow ugc noopener"
    return attrs


def clean_html(html: str) -> str:
    """Sanitise formatted HTML (briefings). SVG, MathML, scripts, styles and events are dropped."""
    return nh3.clean(
        html or "",
        tags=BRIEFING_TAGS,
        attributes=BRIEFING_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
