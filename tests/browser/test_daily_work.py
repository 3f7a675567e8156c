"""The secretariat's daily work and the small things: a dashboard of what needs them on signing in,
grouped menus that open without JavaScript, forms that offer only what can be done, the chair's
console without the participants' forms, the favicon, what verifying proves, closed consultations
that do not invite votes."""

import pytest
from playwright.sync_api import expect

from tests.browser.small_site import sign_in, small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    yield context.new_page()
    context.close()


def test_the_secretariat_lands_on_what_needs_them(page_without_js, small_site):
    page = page_without_js
    sign_in(page, small_site["base"], "admin")
    expect(page).to_have_url(small_site["base"] + "/admin/")
    tasks = page.get_by_role("region", name="What needs you")
    expect(tasks.get_by_role("link", name="1 view waits for a moderator")).to_be_visible()
    expect(
        tasks.get_by_role(
            "link", name="Draft report to check and freeze: Report on “Review of progress: access to safe water”"
        )
    ).to_be_visible()
    tasks.get_by_role("link", name="1 view waits for a moderator").click()
    expect(page).to_have_url(small_site["base"] + "/moderation/")


def test_the_navigation_is_grouped_in_menus_that_open_without_javascript(page_without_js, small_site):
    page = page_without_js
    sign_in(page, small_site["base"], "admin")
    page.goto(small_site["base"] + "/?lang=en")
    nav = page.get_by_role("navigation", name="Main")
    top = nav.locator(":scope > ul > li")
    assert top.count() <= 8, nav.inner_text()
    desk = nav.get_by_role("link", name="Report desk")
    expect(desk).to_be_hidden()  # folded in the "Work" menu
    nav.locator("summary", has_text="Work").click()
    expect(desk).to_be_visible()
    desk.click()
    expect(page).to_have_url(small_site["base"] + "/admin/reports")
    page.goto(small_site["base"] + "/?lang=en")
    nav.locator("summary", has_text="My account").press("Enter")  # by keyboard too
    expect(nav.get_by_role("link", name="My profile")).to_be_visible()


def test_forms_offer_only_what_can_be_done(page_without_js, small_site):
    page = page_without_js
    sign_in(page, small_site["base"], "admin")
    page.goto(small_site["base"] + "/admin/reports?lang=en")
    offered = page.locator("select#consultation_id option").all_inner_texts()
    assert offered == ["Review of progress: access to safe water (Reported)"], offered  # not the open one
    still_open = page.get_by_role("link", name="Governing artificial intelligence for sustainable development")
    still_open.click()
    expect(page.get_by_label("Status")).to_be_visible()  # its settings, where it can be closed
    page.goto(small_site["base"] + "/hearings/new?lang=en")
    offered = page.locator("select#consultation_id option").all_inner_texts()
    # The open consultation only: the other one is reported (its record is frozen), and a draft has no public page.
    assert offered == ["Governing artificial intelligence for sustainable development"], offered


def test_the_chairs_console_has_no_request_for_the_floor(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    sign_in(page, small_site["base"], "chair")
    page.goto(f"{small_site['base']}/hearings/{small_site['hearing_id']}?lang=en")
    expect(page.locator(".chair-console")).to_be_visible()
    expect(page.locator("#floor-form")).to_have_count(0)
    context.close()
    context = browser.new_context(locale="en-GB")  # a participant still asks for the floor
    page = context.new_page()
    sign_in(page, small_site["base"], "participant")
    page.goto(f"{small_site['base']}/hearings/{small_site['hearing_id']}?lang=en")
    expect(page.locator("#floor-form")).to_be_visible()
    context.close()


def test_favicon_verify_text_and_closed_consultations(page_without_js, small_site):
    page = page_without_js
    response = page.request.get(small_site["base"] + "/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] == "image/x-icon"
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.goto(small_site["base"] + "/reports/verify?lang=en")
    expect(page.locator("main")).to_contain_text(
        "Verifying proves that the report or the package you hold is exactly the one"
    )
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    sign_in(page, small_site["base"], "participant")
    page.goto(f"{small_site['base']}/consultations/{small_site['closed_slug']}?lang=en")
    expect(page.locator("main")).to_contain_text("This consultation is closed")
    expect(page.get_by_role("button", name="Agree", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Vote one view at a time")).to_have_count(0)
