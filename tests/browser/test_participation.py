"""A new user registers, opens a consultation, submits a view and votes — with and without JavaScript."""

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_register_submit_and_vote(browser, demo_server, javascript):
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    email = f"walker-{uuid.uuid4().hex[:8]}@example.org"

    page.goto(demo_server.url + "/account/register")
    page.get_by_label("Name shown with your views").fill("Walker")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 10 characters)").fill("a sturdy passphrase")
    page.get_by_label("Repeat the password").fill("a sturdy passphrase")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".flashes")).to_contain_text("Welcome, Walker")

    page.goto(demo_server.url + "/consultations/")
    page.get_by_role("link", name="Governing artificial intelligence for sustainable development").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Governing artificial intelligence for sustainable development"
    )

    view = f"Countries with little computing capacity need shared public AI infrastructure ({'js' if javascript else 'no-js'})."
    page.get_by_role("textbox", name="Your view").fill(view)
    page.get_by_role("button", name="Submit my view").click()
    expect(page.locator(".flashes")).to_contain_text("your view is published")
    expect(page.locator("li.view", has_text=view)).to_have_count(1)

    first = page.locator("li.view").first
    agree = first.get_by_role("button", name="Agree", exact=True)
    agree.click()
    if not javascript:
        expect(page.locator(".flashes")).to_contain_text("Your vote is recorded.")
    first = page.locator("li.view").first
    expect(first.get_by_role("button", name="Agree", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".tally .agree .n")).to_have_text("1")

    # The vote survives a reload, and voting again changes it rather than adding one.
    page.reload()
    page.locator("li.view").first.get_by_role("button", name="Disagree", exact=True).click()
    if javascript:
        expect(page.locator("li.view").first.get_by_role("button", name="Disagree", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
    else:
        expect(page.locator(".flashes")).to_contain_text("Your vote is recorded.")
    page.reload()
    first = page.locator("li.view").first
    expect(first.get_by_role("button", name="Disagree", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(first.get_by_role("button", name="Agree", exact=True)).to_have_attribute("aria-pressed", "false")
    expect(first.locator(".tally .agree .n")).to_have_text("0")
    expect(first.locator(".tally .disagree .n")).to_have_text("1")
    context.close()
