"""A chair and a participant in the same live hearing, in headless Chromium: the participant's
message and request for the floor reach the chair's console live; the chair gives the floor and
the participant sees it with a countdown. Then the same page without JavaScript still works."""

import pytest
from playwright.sync_api import expect

from tests.live_server import LiveServer, separate_database
from tests.test_hearings_live import PASSWORD, seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hearing_server():
    url = separate_database("hearing_browser")
    hearing_id = seed(url)["hearing_id"]
    server = LiveServer(url).wait()
    yield server, hearing_id
    server.stop()


def _sign_in(page, base, email):
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_chair_and_participant_in_one_hearing(browser, hearing_server):
    server, hid = hearing_server
    chair_ctx = browser.new_context(locale="en-GB")
    part_ctx = browser.new_context(locale="en-GB")
    chair, participant = chair_ctx.new_page(), part_ctx.new_page()
    _sign_in(chair, server.url, "chair@example.org")
    _sign_in(participant, server.url, "p1@example.org")
    chair.goto(f"{server.url}/hearings/{hid}")
    participant.goto(f"{server.url}/hearings/{hid}")
    for page in (chair, participant):
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(chair.get_by_role("heading", name="Chair's console")).to_be_visible()
    expect(participant.get_by_role("heading", name="Chair's console")).to_have_count(0)

    text = "Regional fisheries bodies should publish their catch data every quarter."
    participant.get_by_role("textbox", name="Your message").fill(text)
    participant.get_by_role("button", name="Send message").click()
    expect(participant.locator("#message-status")).to_have_text("Your message is published.")
    expect(chair.locator("#thread li.message", has_text=text)).to_have_count(1)  # live, no reload
    expect(participant.locator("#thread li.message", has_text=text)).to_have_count(1)  # once

    participant.get_by_label("Constituency you speak for").select_option("ngo")
    participant.get_by_label("Topic").fill("Open catch data")
    participant.get_by_role("button", name="Ask for the floor").click()
    queued = chair.locator("#chair-queue li", has_text="Open catch data")
    expect(queued).to_contain_text("NGO / civil society")
    queued.get_by_role("button", name="Give the floor: Kofi").click()
    expect(participant.locator("#speaker")).to_contain_text("Kofi")
    expect(participant.locator("#countdown")).to_have_text(lambda_free_countdown())
    expect(chair.locator("#balance-speakers")).to_contain_text("NGO / civil society", timeout=10000)

    chair.get_by_label("Chair's summary (posted to the thread)").fill("We heard a call for open catch data.")
    chair.get_by_role("button", name="Post the summary").click()
    expect(participant.locator("#thread li.chair-summary")).to_contain_text("We heard a call for open catch data.")
    chair_ctx.close()

    # Without JavaScript: the thread is there and posting works through the form.
    plain_ctx = browser.new_context(java_script_enabled=False, locale="en-GB")
    plain = plain_ctx.new_page()
    _sign_in(plain, server.url, "p2@example.org")
    plain.goto(f"{server.url}/hearings/{hid}")
    expect(plain.locator("#thread li.message", has_text=text)).to_have_count(1)
    plain.get_by_role("textbox", name="Your message").fill("Without scripts the form still posts my message.")
    plain.get_by_role("button", name="Send message").click()
    expect(plain.locator(".flashes")).to_contain_text("Your message is published.")
    expect(participant.locator("#thread li.message", has_text="Without scripts the form")).to_have_count(1)
    plain_ctx.close()
    part_ctx.close()


def lambda_free_countdown():
    """The countdown shows minutes:seconds (the default limit is 3 minutes)."""
    import re

    return re.compile(r"^[0-3]:[0-5]\d$")
