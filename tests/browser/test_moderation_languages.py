"""Abuse in Arabic and Chinese is held, reaches the moderators' queue, and the moderator is told
which language the score was made for and how reliable the model is there (Chromium, no JS)."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.showcase import showcase, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ABUSE = {
    "ar": "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر",
    "zh": "你这个白痴，滚出去，你们这些垃圾都该去死",
}


def test_arabic_and_chinese_abuse_is_held_and_reaches_the_queue(browser, showcase):  # noqa: F811
    base = showcase["base"]
    participant = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = participant.new_page()
    email = f"poster-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(base + "/account/register?lang=en")
    page.get_by_label("Name shown with your views").fill("Poster")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 10 characters)").fill("a sturdy passphrase")
    page.get_by_label("Repeat the password").fill("a sturdy passphrase")
    page.get_by_role("button", name="Create my account").click()
    for text in ABUSE.values():
        page.goto(f"{base}/consultations/{showcase['open_slug']}?lang=en")
        page.get_by_role("textbox", name="Your view").fill(text)
        page.get_by_role("button", name="Submit my view").click()
        expect(page.locator(".flashes")).to_contain_text("once a moderator has reviewed it")
        expect(page.locator("li.view", has_text=text)).to_have_count(0)  # not published
    participant.close()

    moderator = browser.new_context(java_script_enabled=False, locale="en-GB")
    sign_in(moderator, base, "a11y-moderator@example.org")
    queue = moderator.new_page()
    queue.goto(base + "/moderation/?lang=en")
    for text in ABUSE.values():
        expect(queue.locator("tr", has_text=text)).to_have_count(1)
    queue.locator("tr", has_text=ABUSE["zh"]).locator("a").first.click()
    expect(queue.locator("#model-reliability")).to_contain_text("Scored as Chinese")
    expect(queue.locator(".view-text")).to_have_attribute("lang", "zh")
    moderator.close()
