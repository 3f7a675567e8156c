"""Finding and following a hearing, in headless Chromium against a real server: a consultation
lists its hearings (live, upcoming with date, time and time zone, past with the transcript), the
home page says what is live, and without JavaScript the hearing never reloads a message being
typed while the newest messages still arrive."""

import json
import os
import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.live_server import ROOT, LiveServer, separate_database
from tests.test_hearings_live import PASSWORD, Client

pytestmark = pytest.mark.browser
REFRESH_SECONDS = 2  # the no-JS frame's refresh, shortened so the test waits past several

SEED = r"""
import json, sys
from datetime import datetime, timedelta
from agora import create_app
from agora.extensions import db
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.participation import consultations
app = create_app()
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
    def user(email, name, constituency=None, country=None):
        u = accounts.register(email, sys.argv[1], name)
        if constituency:
            accounts.update_profile(u, accounts.Profile(display_name=name, constituency=constituency, country=country, gender=None, languages=None, locale=None))
        return u
    c = consultations.create(consultations.ConsultationInput(title="Oceans review", stage="hearing", status="open", languages="en,fr,es,ar,zh,ru"))
    quiet = consultations.create(consultations.ConsultationInput(title="Forest finance", stage="round_table", status="open"))
    chair = user("chair@example.org", "Chair Amina")
    p1 = user("p1@example.org", "Kofi", "ngo", "GH")
    p2 = user("p2@example.org", "Lucía", "youth", "AR")
    past = hearings.create(c.id, "Opening session: baselines")
    hearings.appoint_chair(past, chair, None)
    hearings.open_hearing(past, chair)
    hearings.post_message(past, p1, "Les données de base sur la pêche doivent être publiques.", client_id="seed-past")
    hearings.close_hearing(past, chair)
    live = hearings.create(c.id, "Ocean commitments: progress review")
    hearings.appoint_chair(live, chair, None)
    hearings.open_hearing(live, chair)
    upcoming = hearings.create(c.id, "Regional session: small island states", datetime(2031, 5, 14, 9, 30))
    print(json.dumps({"slug": c.slug, "quiet_slug": quiet.slug, "live": live.id, "past": past.id, "upcoming": upcoming.id}))
"""


@pytest.fixture(scope="module")
def ocean():
    url = separate_database("follow_hearing")
    env = {**os.environ, "AGORA_DATABASE_URL": url, "AGORA_SECRET_KEY": "live-test-secret"}
    env.pop("AGORA_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SEED, PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    server = LiveServer(url, env={"AGORA_HEARING_REFRESH_SECONDS": str(REFRESH_SECONDS)}).wait()
    server.database_url = url
    yield server, ids
    server.stop()


def _sign_in(page, base, email):
    page.goto(base + "/account/login?lang=en")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_without_javascript_typed_text_survives_while_new_messages_arrive(browser, ocean):
    server, ids = ocean
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    _sign_in(page, server.url, "p2@example.org")
    page.goto(f"{server.url}/hearings/{ids['live']}")
    draft = "Los pequeños estados insulares necesitan acceso directo a la financiación para la adaptación; "
    box = page.get_by_role("textbox", name="Your message")
    box.fill(draft)

    frame = page.frame_locator("iframe.latest-frame")
    poster = Client(server.url, ids["live"], "p1@example.org")
    try:
        poster.join()
        for text in ("小岛屿国家需要直接获得适应资金。", "Рыболовные квоты должны следовать научным рекомендациям."):
            assert poster.call("post_message", text=text)["state"] == "published"
            # the newest messages reach the page without JavaScript, inside the refreshing frame
            expect(frame.locator("li.message", has_text=text)).to_have_count(1, timeout=REFRESH_SECONDS * 5000)
    finally:
        poster.close()
    time.sleep(REFRESH_SECONDS * 2.5)  # several more refreshes of the frame
    expect(frame.locator("li.message").first).to_contain_text("Рыболовные квоты")
    assert box.input_value() == draft  # the page with the form never reloaded
    box.press("End")
    box.type("y ahora lo envío.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator(".flashes")).to_contain_text("Your message is published.")
    expect(page.locator("#thread li.message", has_text=draft + "y ahora lo envío.")).to_have_count(1)
    # the page itself only shows what is new when asked
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    expect(page.get_by_role("link", name="Show new messages")).to_be_visible()
    context.close()


UPCOMING_TIME = {  # 2031-05-14 09:30 UTC in the site's one date-time format, time zone shown
    "en": "May 14, 2031, 9:30 AM UTC",
    "fr": "14 mai 2031, 09:30 TU",
    "zh": "2031年5月14日 09:30 UTC",
    "ar": "9:30 ص التوقيت العالمي",
}


def test_a_consultation_lists_its_hearings_and_the_home_page_what_is_live(browser, ocean):
    server, ids = ocean
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(server.url + "/?lang=en")
    live = page.locator("section.live-now")
    expect(live).to_contain_text("Live now")
    expect(live.get_by_role("link", name="Oceans review")).to_be_visible()
    live.get_by_role("link", name="Join the hearing: Ocean commitments: progress review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ocean commitments: progress review")

    page.goto(f"{server.url}/consultations/{ids['slug']}?lang=en")
    hearings = page.locator("section#hearings")
    expect(hearings.get_by_role("heading", name="Hearings")).to_be_visible()
    expect(hearings.locator(".hearing-live")).to_contain_text("Ocean commitments: progress review")
    upcoming = hearings.locator("li", has_text="Regional session: small island states")
    expect(upcoming).to_contain_text(UPCOMING_TIME["en"])
    expect(upcoming.locator("time")).to_have_attribute("datetime", "2031-05-14T09:30:00Z")
    past = hearings.locator("li", has_text="Opening session: baselines")
    expect(past).to_contain_text("ended")
    past.get_by_role(
        "link", name=re.compile(r"^Transcript and speakers' record\s*: Opening session: baselines$")
    ).click()
    expect(page.locator("body")).to_contain_text("Les données de base sur la pêche doivent être publiques.")

    # at the hearing stage, the consultation's header leads straight to its live hearing
    page.goto(f"{server.url}/consultations/{ids['slug']}?lang=en")
    page.get_by_role("link", name="This consultation is at its hearing: join it live").click()
    expect(page).to_have_url(f"{server.url}/hearings/{ids['live']}")

    for lang in ("fr", "zh", "ar"):
        page.goto(f"{server.url}/consultations/{ids['slug']}?lang={lang}")
        expect(page.locator("section#hearings li", has_text="Regional session")).to_contain_text(UPCOMING_TIME[lang])
    page.goto(f"{server.url}/consultations/{ids['quiet_slug']}?lang=en")
    expect(page.locator("section#hearings")).to_have_count(0)  # no hearings, not at the hearing stage
    context.close()


def _player(server, hearing_id, *args):
    env = {**os.environ, "AGORA_DATABASE_URL": server.database_url, "AGORA_SECRET_KEY": "live-test-secret"}
    env.pop("AGORA_REDIS_URL", None)
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "agora",
        "agora",
        "demo",
        "hearing",
        "--live",
        "--url",
        server.url,
        "--hearing",
        str(hearing_id),
        *args,
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_demo_player_fills_the_chairs_console_live(browser, ocean):
    server, ids = ocean
    context = browser.new_context(locale="en-GB")
    chair = context.new_page()
    _sign_in(chair, server.url, "chair@example.org")
    chair.goto(f"{server.url}/hearings/{ids['live']}")
    expect(chair.locator("#connection")).to_have_attribute("data-state", "live")

    player = _player(server, ids["live"], "--count", "14", "--pace", "0.3", "--people", "4", "--seed", "5")
    out, _ = player.communicate(timeout=240)
    assert player.returncode == 0, out[-3000:]
    posted = re.findall(r"posts in (English|French|Spanish|Arabic): (.+)", out)
    asked = re.findall(r"asks for the floor: (.+)", out)
    assert {lang for lang, _t in posted} >= {"English", "French"} and asked and "votes" in out, out
    for _lang, text in posted:  # reached the chair's page live, without a reload
        expect(chair.locator("#thread li.message", has_text=text.strip())).to_have_count(1)
    for topic in asked:
        expect(chair.locator("#chair-queue li", has_text=topic.strip())).to_have_count(1)

    # Ctrl-C: the player stops at once, says so, and leaves what it did
    player = _player(server, ids["live"], "--count", "1000", "--pace", "0.5", "--people", "2", "--seed", "9")
    lines = []
    while len([line for line in lines if line.startswith("[")]) < 2:
        lines.append(player.stdout.readline())
        assert lines[-1] or player.poll() is None, "".join(lines)
    player.send_signal(subprocess.signal.SIGINT)
    out = "".join(lines) + player.communicate(timeout=60)[0]
    assert player.returncode == 0 and "Stopped (Ctrl-C)" in out and "Done:" in out, out
    context.close()
