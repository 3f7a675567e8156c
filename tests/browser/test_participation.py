"""A new user registers, opens a consultation, submits a view and votes — with and without JavaScript."""
import re
import uuid

import pytest

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
    assert "Welcome, Walker" in page.content()

    page.goto(demo_server.url + "/consultations/")
    page.get_by_role("link", name="Improving Bowling Green / Warren County").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Improving Bowling Green / Warren County"

    view = f"A covered farmers market downtown would bring neighbours together ({'js' if javascript else 'no-js'})."
    page.get_by_role("textbox", name="Your view").fill(view)
    page.get_by_role("button", name="Submit my view").click()
    assert "your view is published" in page.content()
    mine = page.locator("li.view", has_text=view)
    assert mine.count() == 1

    first = page.locator("li.view").first
    agree = first.get_by_role("button", name="Agree", exact=True)
    agree.click()
    if javascript:
        page.wait_for_function("document.querySelector('li.view button.vote.agree').getAttribute('aria-pressed') === 'true'")
    else:
        page.wait_for_load_state()
        assert "Your vote is recorded." in page.content()
    first = page.locator("li.view").first
    assert first.get_by_role("button", name="Agree", exact=True).get_attribute("aria-pressed") == "true"
    assert re.search(r"\b1\b", first.locator(".tally .agree").inner_text())

    # The vote survives a reload, and voting again changes it rather than adding one.
    page.reload()
    page.locator("li.view").first.get_by_role("button", name="Disagree", exact=True).click()
    if javascript:
        page.wait_for_function("document.querySelector('li.view button.vote.disagree').getAttribute('aria-pressed') === 'true'")
    page.reload()
    first = page.locator("li.view").first
    assert first.get_by_role("button", name="Disagree", exact=True).get_attribute("aria-pressed") == "true"
    assert first.get_by_role("button", name="Agree", exact=True).get_attribute("aria-pressed") == "false"
    context.close()
