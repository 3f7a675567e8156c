"""Languages: every visible template string is marked for translation, the shipped catalogues are
complete and compiled, pages switch language (Arabic right to left), dates and numbers follow the
locale, consultations show their translation, and views can be filtered by language."""

import gettext
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from tests.conftest import csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "agora" / "translations"
SHIPPED = ("fr", "es", "ar", "zh", "ru")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")

# --- (1) unmarked strings in templates ---------------------------------------------------------

CUT = " \x00 "  # stands where an expression or a tag was: text on either side is checked apart
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label", "data-confirm"}
# Words that need no translation: the brand and the names of formats and protocols.
ALLOWED_WORDS = re.compile(r"\b(Agora|SHA-256|CSV|JSON|PDF|API|SMS|UTC|TOTP|HMAC)\b")


class _VisibleText(HTMLParser):
    """Text nodes and human-read attributes, outside <script>, <style>, <code>, <kbd> and <samp>."""

    SKIP = {"script", "style", "code", "kbd", "samp", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self._check(data)

    def _check(self, text):
        for part in text.split(CUT.strip()):
            part = " ".join(part.split())
            if re.search(r"[^\W\d_]", ALLOWED_WORDS.sub("", part)):
                self.found.append(part)


def unmarked_strings(source: str) -> list[str]:
    """The visible words of a Jinja template that are not inside ``{{ _("...") }}``."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    pieces = []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            pieces.append(value)
        elif kind in ("variable_begin", "block_begin"):
            pieces.append(CUT)
    parser = _VisibleText()
    parser.feed("".join(pieces))
    parser.close()
    return parser.found


def test_the_detector_finds_unmarked_text_and_accepts_marked_text():
    assert unmarked_strings('<p>Hello {{ name }}</p><button title="Close">×</button>') == ["Hello", "Close"]
    assert unmarked_strings('<p>{{ _("Hello %(n)s", n=name) }}</p><a aria-label="{{ _(\'Main\') }}">·</a>') == []
    assert (
        unmarked_strings("<script>var a = 'text';</script><style>p{color:red}</style><code>text,channel</code>") == []
    )
    assert unmarked_strings('{% if x %}<span lang="en">{{ y }}</span>{% endif %} Agora · 2026') == []
    assert unmarked_strings('<h1{% if x %} lang="{{ l }}"{% endif %}>{{ t }}</h1><p{{ attrs }}>Hi</p>') == ["Hi"]


def test_every_visible_template_string_is_marked_for_translation():
    problems = [
        f"{path.relative_to(ROOT)}: {text!r}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for text in unmarked_strings(path.read_text(encoding="utf-8"))
    ]
    assert not problems, 'wrap these in {{ _("...") }}:\n' + "\n".join(problems)


# --- (2) catalogues ----------------------------------------------------------------------------


def _catalog(path: Path, locale=None):
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def test_the_template_catalogue_is_up_to_date_with_the_code():
    """Run the extraction into a temporary file: no message may be missing from messages.pot."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "messages.pot"
        result = subprocess.run(
            [sys.executable, "scripts/translations.py", "extract", "--output", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        fresh = {m.id for m in _catalog(out) if m.id}
    shipped = {m.id for m in _catalog(TRANSLATIONS / "messages.pot") if m.id}
    missing = sorted(fresh - shipped)
    assert not missing, "run `python scripts/translations.py all` and translate:\n" + "\n".join(missing[:50])


@pytest.mark.parametrize("language", SHIPPED)
def test_catalogue_is_complete_with_placeholders_kept(language):
    template = _catalog(TRANSLATIONS / "messages.pot")
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", locale=language)
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        # a plural message (ngettext) has a tuple of ids and one string per plural form
        forms = (
            translated.string
            if translated is not None and isinstance(translated.string, tuple)
            else ((translated.string,) if translated is not None else ())
        )
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        wanted = sorted(set(PLACEHOLDER.findall(source)) | ({"%(num)s"} if isinstance(message.id, tuple) else set()))
        if translated is None or not all(forms):
            problems.append(f"untranslated: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif any(sorted(set(PLACEHOLDER.findall(form))) != wanted for form in forms):
            problems.append(f"placeholders differ: {message.id!r} -> {translated.string!r}")
        elif any("<" in form for form in forms) and "<" not in source:
            problems.append(f"markup added: {translated.string!r}")
    assert not problems, f"{language}: {len(problems)} problems\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("language", SHIPPED)
def test_compiled_catalogue_matches_its_source(language):
    """The .mo the app reads says exactly what the .po says (`python scripts/translations.py compile`)."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    mo = folder / "messages.mo"
    assert mo.exists(), f"{mo} is missing: run python scripts/translations.py compile"
    with tempfile.TemporaryFile() as fresh:
        write_mo(fresh, _catalog(folder / "messages.po", locale=language))
        fresh.seek(0)
        expected = gettext.GNUTranslations(fresh)._catalog
    with mo.open("rb") as handle:
        shipped = gettext.GNUTranslations(handle)._catalog
    # The header names the Babel release that compiled it: not content, and it differs between
    # machines that compile with different releases.
    for catalog in (shipped, expected):
        catalog[""] = re.sub(r"(?m)^Generated-By: .*\n", "", catalog.get("", ""))
    assert shipped == expected, f"{mo} is out of date: run python scripts/translations.py compile"


# --- (3) pages in other languages --------------------------------------------------------------


def test_arabic_pages_are_right_to_left_and_in_arabic(client, make):
    make.consultation(title="Oceans and plastics")
    html = client.get("/consultations/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "المشاورات" in html  # "Consultations" in the navigation
    assert re.search(r"<h1>[^<]*[\u0600-\u06FF]", html)


def test_french_spanish_russian_and_chinese_pages(client, make):
    make.consultation(title="Oceans and plastics")
    expected = {"fr": "Consultations", "es": "Consultas", "ru": "Консультации", "zh": "咨询"}
    for code, word in expected.items():
        html = client.get(f"/?lang={code}").get_data(as_text=True)
        assert f'<html lang="{code}" dir="ltr">' in html
        assert word in html, code
    assert "Passer au contenu" in client.get("/?lang=fr").get_data(as_text=True)


def test_language_comes_from_the_browser_then_the_switch_then_the_profile(client, make, app):
    assert 'lang="es"' in client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh"' in client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    # The switch, on every page, remembers the choice in a cookie and returns to the same page.
    html = client.get("/about").get_data(as_text=True)
    for code in ("en", "fr", "es", "ar", "zh", "ru"):
        assert f"/language/{code}?next=" in html
    response = client.get("/language/ru?next=/about%3Flang%3Dfr")
    assert response.status_code == 302 and response.headers["Location"].endswith("/about")
    assert 'lang="ru"' in client.get("/about").get_data(as_text=True)
    # A signed-in participant's interface language applies where no switch was used.
    fresh = app.test_client()
    make.user(email="amal@example.org")
    login(fresh, "amal@example.org")
    token = csrf_from(fresh, "/account/profile")
    fresh.post("/account/profile", data={"display_name": "Amal", "locale": "ar", "csrf_token": token})
    assert 'dir="rtl"' in fresh.get("/").get_data(as_text=True)
    # Saved in the profile, it replaces an earlier choice made with the switch, and the reverse.
    make.user(email="li@example.org")
    login(client, "li@example.org")  # this client chose Russian with the switch above
    assert 'lang="ru"' in client.get("/").get_data(as_text=True)
    client.post(
        "/account/profile",
        data={"display_name": "Li", "locale": "zh", "csrf_token": csrf_from(client, "/account/profile")},
    )
    assert 'lang="zh"' in client.get("/").get_data(as_text=True)
    client.get("/language/fr?next=/")
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)


def test_dates_and_numbers_follow_the_locale(client, make, app):
    from datetime import datetime

    cid = make.consultation(
        title="Oceans and plastics", opens_at=datetime(2026, 3, 1), closes_at=datetime(2026, 12, 31)
    )
    slug = make.slug(cid)
    assert "31 déc. 2026" in client.get(f"/consultations/{slug}?lang=fr").get_data(as_text=True)
    assert "2026年12月31日" in client.get(f"/consultations/{slug}?lang=zh").get_data(as_text=True)
    with app.test_request_context("/?lang=ru"):
        from flask import render_template_string

        assert render_template_string("{{ 12345|number }}") == "12\xa0345"


def test_service_errors_are_shown_in_the_readers_language(client, make):
    make.user(email="admin@example.org", role="admin")
    login(client, "admin@example.org")
    token = csrf_from(client, "/admin/consultations/new")
    response = client.post(
        "/admin/consultations/new?lang=fr",
        data={
            "title": "T",
            "stage": "conference",
            "status": "open",
            "opens_at": "2026-05-01T10:00",
            "closes_at": "2026-04-01T10:00",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "La date de clôture doit être postérieure à la date d’ouverture." in response.get_data(as_text=True)


# --- consultations in several languages, views by language -------------------------------------


def test_the_secretariat_translates_a_consultation_and_readers_see_their_language(client, make, app):
    make.user(email="admin@example.org", role="admin")
    cid = make.consultation(
        title="Oceans and plastics", summary="Plastic in the sea.", briefing_html="<p>The briefing.</p>"
    )
    slug = make.slug(cid)
    login(client, "admin@example.org")
    url = f"/admin/consultations/{cid}/translations"
    token = csrf_from(client, url)
    response = client.post(
        url,
        data={
            "language": "fr",
            "title": "Océans et plastiques",
            "summary": "Le plastique en mer.",
            "briefing_html": '<p>La note.</p><script>alert(1)</script><p onclick="x()">Suite</p>',
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    # Editing replaces rather than adds.
    client.post(
        url,
        data={
            "language": "fr",
            "title": "Océans et plastiques",
            "summary": "Le plastique en mer.",
            "briefing_html": '<p>La note.</p><script>alert(1)</script><p onclick="x()">Suite</p>',
            "csrf_token": token,
        },
    )
    admin_page = client.get(url).get_data(as_text=True)
    assert admin_page.count("Océans et plastiques") == 1

    french = client.get(f"/consultations/{slug}?lang=fr").get_data(as_text=True)
    assert '<h1 dir="auto">Océans et plastiques</h1>' in french and "La note." in french  # its own direction (bidi)
    assert "<script>alert" not in french and "onclick" not in french  # sanitised
    assert "Océans et plastiques" in client.get("/consultations/?lang=fr").get_data(as_text=True)
    # Without a translation, the original is shown, marked with its language.
    spanish = client.get(f"/consultations/{slug}?lang=es").get_data(as_text=True)
    assert '<h1 dir="auto" lang="en">Oceans and plastics</h1>' in spanish
    english = client.get(f"/consultations/{slug}?lang=en").get_data(as_text=True)
    assert '<h1 dir="auto">Oceans and plastics</h1>' in english and "Océans" not in english

    token = csrf_from(client, url)
    assert client.post(f"{url}/fr/delete", data={"csrf_token": token}).status_code == 302
    assert '<h1 dir="auto" lang="en">Oceans and plastics</h1>' in client.get(f"/consultations/{slug}?lang=fr").get_data(
        as_text=True
    )


def test_only_the_secretariat_translates(client, make):
    cid = make.consultation()
    make.user(email="someone@example.org")
    login(client, "someone@example.org")
    assert client.get(f"/admin/consultations/{cid}/translations").status_code == 403


def test_views_can_be_filtered_by_language(client, make, app):
    from agora.extensions import db
    from agora.models import Submission

    cid = make.consultation()
    slug = make.slug(cid)
    author = make.user()
    ids = [
        make.submission(cid, author, "Public transport in rural areas needs steady funding from the state."),
        make.submission(cid, author, "Les transports publics ruraux ont besoin d'un financement stable de l'État."),
    ]
    with app.app_context():  # the detected language, set explicitly so the test does not depend on the detector
        for sid, code in zip(ids, ("en", "fr")):
            db.session.get(Submission, sid).language = code
        db.session.commit()
    page = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert '<select id="view-language" name="language">' in page
    only_french = client.get(f"/consultations/{slug}?language=fr").get_data(as_text=True)
    assert "financement stable" in only_french and "steady funding" not in only_french
    both = client.get(f"/consultations/{slug}?language=xx").get_data(as_text=True)
    assert "financement stable" in both and "steady funding" in both


# --- low bandwidth, server side ----------------------------------------------------------------


def test_pages_and_static_files_are_compressed_and_static_urls_carry_a_content_hash(client, app):
    html = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert html.headers.get("Content-Encoding") == "gzip"
    page = html.get_data()
    import gzip

    text = gzip.decompress(page).decode()
    match = re.search(r'href="(/static/css/agora\.css\?v=([0-9a-f]{12}))"', text)
    assert match, "static URLs carry ?v=<content hash>"
    import hashlib

    content = (ROOT / "static" / "css" / "agora.css").read_bytes()
    assert match.group(2) == hashlib.sha256(content).hexdigest()[:12]
    css = client.get(match.group(1), headers={"Accept-Encoding": "br, gzip"})
    assert css.headers["Content-Encoding"] in ("br", "gzip")
    assert "immutable" in css.headers["Cache-Control"]


def test_live_pages_get_their_labels_in_the_readers_language(client, make, app):
    """Socket payloads carry English labels; the hearing page hands the script translated ones."""
    import html as html_lib
    import json

    from agora.services import hearings

    cid = make.consultation()
    with app.app_context():
        hearing_id = hearings.create(cid, "Oceans review").id
    page = client.get(f"/hearings/{hearing_id}?lang=ar").get_data(as_text=True)
    raw = re.search(r'data-labels="([^"]*)"', page).group(1)
    labels = json.loads(html_lib.unescape(raw))
    assert labels["youth"] == "الشباب" and labels["unstated"] == "غير مذكور"
