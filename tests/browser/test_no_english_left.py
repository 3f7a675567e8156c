"""No English left on French, Arabic and Chinese pages: every text a page shows that is one of the
catalogue's English messages (or a raw stored value such as "draft" or "failed") is a miss.

The pages are those of the small seeded site, for a visitor and for the secretariat (status values
and report states show on the secretariat's pages). User content (titles, views, names) is not
in the catalogue, so it is never counted; a frozen report's own English text is declared by the
page itself, and tested for that note."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from babel.messages.pofile import read_po

from tests.browser.small_site import PASSWORD, ROLES, small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# Stored values that must never reach a page as they are (case matters: "Web" is a word in French).
RAW_VALUES = {
    "draft",
    "open",
    "closed",
    "reported",
    "frozen",
    "recorded",
    "pending",
    "delivered",
    "failed",
    "published",
    "held",
    "hidden",
    "rejected",
    "round_table",
    "conference",
    "partnership",
    "socket",
    "import",
}


NUMBER = "[\\d\\s,.\u00a0\u202f\u066b\u066c]+"  # a number in any of the locales' digit groupings


class _Text(HTMLParser):
    """Visible text nodes and attribute texts a person reads (labels, placeholders, titles)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self.skip += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.found.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.found.append(" ".join(data.split()))


def _english_patterns(lang: str) -> list[tuple[str, re.Pattern]]:
    """The catalogue's English messages whose translation differs, as whole-text patterns."""
    with open(ROOT / "agora" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    patterns = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            words = re.sub(r"%\(\w+\)[sd]|%[sd]", "", english)
            if english in strings or len(words) < 4 or not re.search(r"[A-Za-z]{3}", words):
                continue  # the same in both languages ("API", "SMS", "OK"), or too short to tell
            body = re.escape(english)
            body = re.sub(r"%\\\((?:num|n)\\\)[sd]", lambda _: NUMBER, body)
            body = re.sub(r"%\\\((\w+)\\\)[sd]|%[sd]", ".+?", body)
            patterns.append((english, re.compile(f"^{body}$", re.S)))
    return patterns


def _pages(s: dict) -> list[str]:
    return [
        "/",
        "/consultations/",
        f"/consultations/{s['slug']}",
        f"/consultations/{s['closed_slug']}",
        f"/consultations/{s['closed_slug']}/themes",
        f"/consultations/{s['closed_slug']}/opinions",
        f"/consultations/{s['closed_slug']}/balance",
        "/hearings/",
        f"/hearings/{s['hearing_id']}",
        f"/hearings/{s['past_hearing_id']}/transcript",
        "/reports/",
        f"/reports/{s['report_id']}",
        "/reports/verify",
        "/organisations/",
        "/about",
        "/account/register",
        "/account/login",
    ]


SECRETARIAT_PAGES = ["/admin/", "/admin/reports", "/reports/{draft_report_id}", "/admin/roles", "/hearings/new"]


def _signed_in(base: str, role: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/account/login?lang=en").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    response = session.post(
        base + "/account/login", data={"email": ROLES[role], "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.ok and "/account/logout" in response.text, response.status_code
    return session


@pytest.mark.parametrize("lang", ["fr", "ar", "zh"])
def test_no_english_left_on_the_main_pages(small_site, lang):
    patterns = _english_patterns(lang)
    base = small_site["base"]
    visits = [(requests.Session(), path) for path in _pages(small_site)]
    admin = _signed_in(base, "admin")
    visits += [(admin, path.format(**small_site)) for path in SECRETARIAT_PAGES]
    misses = []
    for session, path in visits:
        response = session.get(base + path, params={"lang": lang})
        assert response.status_code == 200, (path, response.status_code)
        parser = _Text()
        parser.feed(response.text)
        for text in parser.found:
            if text in RAW_VALUES:
                misses.append(f"{path}: raw value {text!r}")
                continue
            hit = next((english for english, pattern in patterns if pattern.match(text)), None)
            if hit:
                misses.append(f"{path}: {text!r} (msgid {hit!r})")
    assert not misses, f"English on {lang} pages:\n" + "\n".join(sorted(set(misses)))


def test_a_frozen_report_says_its_text_stays_in_english(small_site):
    page = requests.get(small_site["base"] + f"/reports/{small_site['report_id']}", params={"lang": "fr"}).text
    assert 'class="hint frozen-language"' in page
    english = requests.get(small_site["base"] + f"/reports/{small_site['report_id']}", params={"lang": "en"}).text
    assert "frozen-language" not in english
