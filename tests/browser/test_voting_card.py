"""The voting card in Chromium, with and without JavaScript: agree, disagree, pass and next, the
progress and the header tally, the opinion map with "You" on it and its table; a reader who is
not signed in is brought back to the card; a closed consultation does not invite votes."""

import json
import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.live_server import ROOT, LiveServer, separate_database
from tests.test_voting_card import VIEWS as ONE_PER_LANGUAGE

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
# Two views in each UN language: the first half one camp agrees with, the second half the other.
VIEWS = [
    *ONE_PER_LANGUAGE[:6],
    "Private investment should lead the new water networks.",
    "Les redevances sur l'eau doivent couvrir tous les coûts.",
    "Las empresas privadas gestionan mejor el agua urbana.",
    "ينبغي أن تتولى الشركات الخاصة إدارة شبكات المياه.",
    "城市供水应交由私营企业管理。",
    "Тарифы на воду должны покрывать все расходы.",
]
SEED = r"""
import json, sys
from agora import create_app
from agora.services.accounts import accounts
from agora.services.analysis import opinions
from agora.services.participation import consultations, submissions
password, views = sys.argv[1], json.loads(sys.argv[2])
app = create_app()
with app.app_context():
    open_one = consultations.create(consultations.ConsultationInput(
        title="Water for everyone", summary="Who should pay for water?", status="open", languages="en,fr,es,ar,zh,ru"))
    closed = consultations.create(consultations.ConsultationInput(title="An earlier round", status="open"))
    voters = [accounts.register(f"card-voter-{i}@example.org", password, f"Voter {i}") for i in range(16)]
    published = [submissions.submit(open_one.id, voters[i % 16], text)[0] for i, text in enumerate(views)]
    submissions.submit(closed.id, voters[0], views[0])
    for i, person in enumerate(voters):
        for j, s in enumerate(published):
            if s.author_id != person.id:
                submissions.vote(s.id, person, "agree" if (i < 8) == (j < 6) else "disagree")
    opinions.refit(open_one.id)
    consultations.set_status(closed, "closed")
    for who in ("js", "nojs", "keys", "anon", "shot"):
        accounts.register(f"card-{who}@example.org", password, f"Card {who}")
    print(json.dumps({"slug": open_one.slug, "closed_slug": closed.slug, "states": [s.state for s in published]}))
"""


@pytest.fixture(scope="module")
def card_site():
    database_url = separate_database("cardsite")
    server = LiveServer(database_url).wait(timeout=240)
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": database_url,
        "AGORA_INSTANCE_PATH": server.instance,
        "AGORA_SECRET_KEY": "live-test-secret",
    }
    out = subprocess.run(
        [sys.executable, "-c", SEED, PASSWORD, json.dumps(VIEWS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(data["states"]) == {"published"}, data
    data["base"] = server.url
    yield data
    server.stop()


def sign_in(page, base, who, next_url=None):
    page.goto(base + "/account/login?lang=en" + (f"&next={next_url}" if next_url else ""))
    page.get_by_label("Email").fill(f"card-{who}@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def card_text(page) -> str:
    return page.locator("#card .card-text").inner_text()


def votes_in_header(page) -> int:
    return int(re.sub(r"\D", "", page.locator("#card-votes-total").inner_text()))


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_vote_one_view_at_a_time(browser, card_site, javascript):
    who = "js" if javascript else "nojs"
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    base = card_site["base"]
    sign_in(page, base, who)
    page.goto(f"{base}/consultations/{card_site['slug']}")
    page.get_by_role("link", name="Vote one view at a time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vote one view at a time")
    expect(page.locator("#card-progress")).to_have_text("You have voted on 0 of 12 views.")
    url, seen, total = page.url, [card_text(page)], votes_in_header(page)
    for button, done in (("Agree", 1), ("Disagree", 2), ("Pass", 3), ("Next", 3)):
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("#card-progress")).to_have_text(f"You have voted on {done} of 12 views.")
        expect(page.locator("#card .card-text")).not_to_have_text(seen[-1])
        assert card_text(page) not in seen, (button, card_text(page), seen)  # never a view already shown
        seen.append(card_text(page))
        if javascript:
            assert page.url == url  # the card advanced in place
            expect(page.locator("#card-votes-total")).to_have_text(f"{total + done} votes")  # the header tally
            message = {
                "Agree": "Agreed.",
                "Disagree": "Disagreed.",
                "Pass": "Passed.",
                "Next": "Skipped: it comes back later.",
            }[button]
            expect(page.locator("#card-status")).to_have_text(f"{message} You have voted on {done} of 12 views.")
        else:
            expect(page.locator(".flashes")).to_contain_text(
                {"Agree": "Agreed.", "Disagree": "Disagreed.", "Pass": "Passed.", "Next": "Skipped"}[button]
            )
            assert votes_in_header(page) == total + done
    # the map appeared after the first vote; "You" joins it at 7 votes
    expect(page.locator("#card-map-summary")).to_contain_text("Vote on 4 more views to appear on the map.")
    expect(page.locator("#card-map-you")).to_have_attribute("visibility", "hidden")
    for _ in range(4):
        page.get_by_role("button", name="Agree", exact=True).click()
    expect(page.locator("#card-progress")).to_have_text("You have voted on 7 of 12 views.")
    you = page.locator("#card-map-you")
    expect(you).not_to_have_attribute("visibility", "hidden")
    expect(page.locator("#card-map-summary")).to_contain_text("You are the ringed dot marked “You”, closest to Group")
    table = page.get_by_role("table", name="Opinion groups on the map")
    expect(table.locator("tr.map-you-row")).to_have_count(1)
    expect(table.locator("tr.map-you-row td.map-you-cell")).to_have_text("Closest to you")
    expect(page.get_by_role("img", name="Opinion map: participants who vote alike are close together")).to_be_visible()
    # the opinions page shows the same map with "You" and the table
    page.goto(f"{base}/consultations/{card_site['slug']}/opinions")
    expect(page.locator("#opinion-map-you")).to_be_attached()
    expect(page.locator("#opinion-map-you")).not_to_have_attribute("visibility", "hidden")
    expect(page.get_by_role("table", name="Opinion groups on the map").locator("tbody tr")).to_have_count(2)
    # (16 seeded voters, more once a refit places the test's own voters)
    expect(page.locator("#opinion-map-summary")).to_have_text(
        re.compile(r"^\d+ participants with enough votes are on the map\. 2 opinion groups")
    )
    context.close()


def test_the_card_works_from_the_keyboard_at_320_px_in_arabic(browser, card_site):
    context = browser.new_context(locale="ar", viewport={"width": 320, "height": 640})
    page = context.new_page()
    base = card_site["base"]
    sign_in(page, base, "keys")
    page.goto(f"{base}/consultations/{card_site['slug']}/vote?lang=ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    first = card_text(page)
    agree = page.locator("button.vote.agree")
    agree.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#card .card-text")).not_to_have_text(first)
    expect(page.locator("#card .card-text")).to_be_focused()  # focus follows the new card
    page.keyboard.press("Tab")
    expect(page.locator("button.vote.agree")).to_be_focused()
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 320, f"the card scrolls sideways at 320 px ({scroll} px)"
    assert "1" in page.locator("#card-progress").inner_text() or "١" in page.locator("#card-progress").inner_text()
    context.close()


def test_a_reader_not_signed_in_is_asked_to_sign_in_and_comes_back(browser, card_site):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    base = card_site["base"]
    page.goto(f"{base}/consultations/{card_site['slug']}/vote")
    expect(page.locator("#card .card-text")).to_be_visible()
    expect(page.get_by_role("button", name="Agree", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Sign in to vote").click()
    page.get_by_label("Email").fill("card-anon@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vote one view at a time")
    expect(page.get_by_role("button", name="Agree", exact=True)).to_be_visible()
    # a closed consultation does not invite votes
    page.goto(f"{base}/consultations/{card_site['closed_slug']}")
    expect(page.get_by_role("link", name="Vote one view at a time")).to_have_count(0)
    page.goto(f"{base}/consultations/{card_site['closed_slug']}/vote")
    expect(page.locator(".card-closed")).to_contain_text("This consultation is closed")
    expect(page.get_by_role("button", name="Agree", exact=True)).to_have_count(0)
    context.close()


def test_the_card_and_the_map_have_no_serious_axe_violations(browser, card_site):
    """WCAG 2.1 AA by axe-core (vendored, test-only) on the card before and after voting, with the
    map, in English and Arabic, and on the opinions page with the map."""
    from tests.browser.test_accessibility import _axe

    context = browser.new_context(bypass_csp=True, locale="en-GB")
    page = context.new_page()
    base, slug = card_site["base"], card_site["slug"]
    sign_in(page, base, "shot")
    problems = []

    def check(path):
        for lang in ("en", "ar"):
            assert page.goto(f"{base}{path}?lang={lang}").status == 200
            problems.extend(f"{path} [{lang}] {v['id']}: {v['help']}" for v in _axe(page))

    check(f"/consultations/{slug}/vote")
    page.goto(f"{base}/consultations/{slug}/vote?lang=en")
    for _ in range(7):
        page.get_by_role("button", name="Agree", exact=True).click()
    expect(page.locator("#card-progress")).to_have_text("You have voted on 7 of 12 views.")
    check(f"/consultations/{slug}/vote")
    check(f"/consultations/{slug}/opinions")
    context.close()
    assert not problems, "\n".join(problems)
