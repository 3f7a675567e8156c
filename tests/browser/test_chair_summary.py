"""The chair's live summary in Chromium, on the demo's live SDG 6 hearing (eighteen messages, three
concerns, six languages): themes that hold every language, named in the chair's language, with
how the room leans and who is absent; with JavaScript (a `summary` event) and without."""

import re

import pytest
from playwright.sync_api import expect

from agora.services.demo import DEMO_CHAIR_EMAIL, DEMO_CHAIR_PASSWORD

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u4e00-\u9fff]")


def _chair(browser, base, javascript, locale="en-GB"):
    context = browser.new_context(java_script_enabled=javascript, locale=locale)
    page = context.new_page()
    page.goto(base + "/account/login?lang=en")
    page.get_by_label("Email").fill(DEMO_CHAIR_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_CHAIR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + "/hearings/?lang=en")
    page.get_by_role("link", name=re.compile("Progress review: safe water")).first.click()
    return context, page


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_the_chair_sees_themes_across_languages(browser, demo_server, javascript):
    context, page = _chair(browser, demo_server.url, javascript)
    if javascript:
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        page.get_by_role("button", name="Refresh the summary").click()
    themes = page.locator("#themes .theme")
    expect(themes.first).to_be_visible(timeout=20000)
    count = themes.count()
    assert 2 <= count <= 6, count  # three concerns: water access, school toilets, tariffs
    for i in range(count):
        theme = themes.nth(i)
        quotes = theme.locator("blockquote")
        languages = {quotes.nth(j).get_attribute("lang") for j in range(quotes.count())}
        assert len(languages) >= 2, languages  # one theme, several languages
        expect(theme).to_contain_text("Written by:")
    expect(page.locator("#themes")).to_contain_text("not in this theme:")
    context.close()


def test_theme_names_follow_the_chairs_language(browser, demo_server):
    context, page = _chair(browser, demo_server.url, False, locale="zh-CN")
    page.goto(page.url.split("?")[0] + "?lang=zh")
    names = page.locator("#themes .theme strong")
    expect(names.first).to_be_visible(timeout=20000)
    for i in range(names.count()):
        assert CJK.search(names.nth(i).inner_text()), names.nth(i).inner_text()
    context.close()
