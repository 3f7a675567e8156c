"""A newcomer's first steps: from a consultation to an account and back, the optional profile with
its privacy note offered at registration, closing dates on open consultations, a profile in plain
words, and the header's tally following a vote made with JavaScript."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.small_site import PASSWORD, small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def _register(page, name: str) -> None:
    page.get_by_label("Name shown with your views").fill(name)
    page.get_by_label("Email").fill(f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)


def test_create_an_account_returns_to_the_consultation_with_the_optional_profile(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    consultation = f"{small_site['base']}/consultations/{small_site['slug']}"
    page.goto(consultation + "?lang=en")
    page.get_by_role("link", name="create an account").click()

    optional = page.get_by_role("group", name="About you (optional)")
    expect(optional).to_contain_text("never shown with your name")
    _register(page, "Wanjiru")
    optional.get_by_label("Constituency").select_option(label="NGO / civil society")
    optional.get_by_label("Country").select_option("KE")
    page.get_by_role("button", name="Create my account").click()

    expect(page).to_have_url(consultation)  # back where the newcomer came from
    expect(page.locator(".flashes")).to_contain_text("Welcome, Wanjiru")
    page.goto(small_site["base"] + "/account/profile?lang=en")
    expect(page.get_by_label("Constituency", exact=True)).to_have_value("ngo")
    expect(page.get_by_label("Country", exact=True)).to_have_value("KE")
    context.close()


def test_a_next_address_off_the_site_is_ignored(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(small_site["base"] + "/account/register?lang=en&next=//evil.example/")
    _register(page, "Pierre")
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/account/profile"))
    context.close()


def test_open_consultations_show_when_they_close(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(small_site["base"] + "/consultations/?lang=en")
    card = page.locator("article.card", has_text="Governing artificial intelligence")
    expect(card).to_contain_text(re.compile(r"Closes \w+ \d+"))
    context.close()


def test_the_profile_names_languages_and_puts_tokens_under_advanced(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(small_site["base"] + "/account/register?lang=en")
    _register(page, "Amani")
    page.get_by_role("button", name="Create my account").click()
    page.goto(small_site["base"] + "/account/profile?lang=en")
    languages = page.get_by_role("group", name="Languages you read")
    languages.get_by_label("Swahili").check()
    languages.get_by_label("French").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page.locator(".flashes")).to_contain_text("Your profile is saved.")
    expect(page.get_by_role("group", name="Languages you read").get_by_label("Swahili")).to_be_checked()
    expect(page.get_by_role("group", name="Languages you read").get_by_label("Arabic")).not_to_be_checked()
    # In French, the same list speaks French.
    page.goto(small_site["base"] + "/account/profile?lang=fr")
    expect(page.locator("fieldset.checkboxes")).to_contain_text("swahili")
    page.goto(small_site["base"] + "/account/profile?lang=en")
    headings = page.locator("main h2, main h3").all_inner_texts()
    assert headings.index("Personal API tokens") == headings.index("Advanced") + 1, headings
    context.close()


def test_the_header_tally_follows_a_vote_made_with_javascript(browser, small_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(small_site["base"] + "/account/register?lang=en")
    _register(page, "Li")
    page.get_by_role("button", name="Create my account").click()
    page.goto(f"{small_site['base']}/consultations/{small_site['slug']}?lang=en")
    votes = page.locator("#consultation-votes")
    before = int(re.sub(r"\D", "", votes.inner_text()))
    page.evaluate("window.stillTheSamePage = true")
    page.locator("li.view").first.get_by_role("button", name="Agree", exact=True).click()
    expect(page.locator("li.view").first.get_by_role("button", name="Agree", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(votes).to_have_text(f"{before + 1} votes" if before + 1 != 1 else "1 vote")
    assert page.evaluate("window.stillTheSamePage === true")  # updated in place, not by reloading the page
    context.close()
