"""Closing the loop in Chromium: the secretariat records what the forum did with a report through
the report page's form; a participant of that consultation sees the notification in the header
and the list, follows it to the consultation page's "What happened with your input", and finds
the same on "My views" — with JavaScript and without, in English and in Arabic (the response's
text keeps its own language and direction). Screenshots at 1280 and 390 px for the docs."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.small_site import PASSWORD, sign_in, sign_out, small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VOTER = "site-voter-0@example.org"  # wrote a view and voted in the closed consultation the report is on
RESPONSE_TEXT = "اعتمد المنتدى التوصيات الواردة في التقرير (see the SDG 6 review?) وطلب متابعتها."


def _sign_in_as(page, base, email):
    page.goto(base + "/account/login?lang=en")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _shoot(page, name, part=None):
    """The whole page, or only ``part`` (a selector) of a long one, at 1280 and 390 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, suffix in ((1280, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 900})
        path = str(SHOTS / f"{name}{suffix}.png")
        if part:
            page.locator(part).screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_forum_response_reaches_the_consultation_page_my_views_and_the_notifications(browser, small_site):  # noqa: F811
    base = small_site["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    sign_in(page, base, "admin")
    page.goto(f"{base}/reports/{small_site['report_id']}?lang=en#responses")
    form = page.locator("#response-form")
    form.get_by_label("What the forum did").select_option("adopted")
    form.get_by_label("Date of the decision").fill("2026-07-15")
    form.get_by_label("Document number").fill("E/HLPF/2026/L.3")
    form.get_by_label("Link to the decision").fill("not a link")
    form.get_by_label("Short text (optional)").fill(RESPONSE_TEXT)
    form.get_by_label("Language of the text").select_option("ar")
    # the browser's own check stops "not a link" (type=url); without it, the server answers 422
    page.evaluate("document.getElementById('response-form').noValidate = true")
    form.get_by_role("button", name="Record the response").click()
    expect(page.locator("#response-error")).to_contain_text("https://")
    assert page.locator("#response-text").input_value() == RESPONSE_TEXT  # nothing typed is lost
    page.locator("#response-url").fill("https://undocs.org/E/HLPF/2026/L.3")
    _shoot(page, "report-response-form", "#responses")
    page.locator("#response-form").get_by_role("button", name="Record the response").click()
    expect(page.locator("#responses .forum-response")).to_have_count(1)
    expect(page.locator("#responses")).to_contain_text("Adopted")
    sign_out(page)

    _sign_in_as(page, base, VOTER)
    unread = page.locator(".unread-count")
    expect(unread).to_be_visible()  # report transmitted (seed) and the forum's response
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator(".notification.unread")).to_have_count(2)
    first = page.locator(".notification").first
    expect(first).to_contain_text("High-level political forum responded to the report")
    expect(first).to_contain_text("Adopted")
    _shoot(page, "notifications")
    first.get_by_role("button", name="Open and mark as read").click()
    expect(page).to_have_url(f"{base}/consultations/{small_site['closed_slug']}#what-happened")
    section = page.locator("#what-happened-section")
    expect(section).to_contain_text("What happened with your input")
    expect(section.get_by_role("link", name="E/HLPF/2026/L.3")).to_have_attribute(
        "href", "https://undocs.org/E/HLPF/2026/L.3"
    )
    quote = section.locator("blockquote")
    expect(quote).to_have_attribute("lang", "ar")
    expect(quote).to_have_attribute("dir", "auto")
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#what-happened-section blockquote')).direction")
        == "rtl"
    )
    _shoot(page, "consultation-what-happened", "#what-happened-section")
    expect(page.locator(".unread-count")).to_contain_text("1")  # one left unread

    page.goto(f"{base}/account/views?lang=en")
    mine = page.locator("#what-happened-section")
    expect(mine).to_contain_text("What happened with your input")
    expect(mine).to_contain_text("Review of progress: access to safe water")
    expect(mine).to_contain_text("E/HLPF/2026/L.3")
    _shoot(page, "my-views-what-happened")

    page.goto(f"{base}/account/views?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("#what-happened")).to_have_text("ما الذي حدث لمساهمتك")
    expect(page.locator("#what-happened-section")).to_contain_text("اعتُمد")
    _shoot(page, "my-views-what-happened-ar")

    page.goto(f"{base}/account/notifications/preferences?lang=en")
    _shoot(page, "notification-preferences")
    context.close()

    # Without JavaScript: the same pages, the same content (all server-rendered forms and links).
    plain = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = plain.new_page()
    _sign_in_as(page, base, VOTER)
    page.goto(f"{base}/account/notifications?lang=en")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator(".unread-count")).to_have_count(0)
    page.goto(f"{base}/account/views?lang=en")
    expect(page.locator("#what-happened-section")).to_contain_text("Adopted")
    plain.close()
