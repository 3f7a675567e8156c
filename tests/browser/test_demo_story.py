"""The demo tells the whole SDG 6 story to someone clicking through it in Chromium (no JavaScript):
the consultation's views come in six languages from people with profiles, its hearings are live,
upcoming and past, and the past one has its transcript, speakers' record and themes."""

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.live_server import ROOT, LiveServer, separate_database

pytestmark = pytest.mark.browser
LANGUAGES = ("en", "fr", "es", "ar", "zh", "ru")
# The demo's SDG 6 consultation and its story alone (not the Pol.is import the full demo loads).
SEED = r"""
from flask_migrate import upgrade
from agora import create_app
from agora.services import demo, demo_story
from agora.services.accounts import accounts
from agora.services.participation import consultations
app = create_app()
with app.app_context():
    upgrade()
    consultations.create(next(c for c in demo.OTHERS if c.stage == "hearing"))
    demo._live_hearing(print)
    demo_story.tell(accounts.find_user_by_email(demo.DEMO_CHAIR_EMAIL), print)
"""


@pytest.fixture(scope="module")
def water_server():
    url = separate_database("demo_story")
    env = {**os.environ, "AGORA_DATABASE_URL": url, "AGORA_SECRET_KEY": "live-test-secret"}
    env.pop("AGORA_REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    server = LiveServer(url).wait()
    yield server
    server.stop()


def test_the_demo_water_review_from_views_to_past_hearing(browser, water_server):
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(water_server.url + "/?lang=en")
    page.locator("section.live-now").get_by_role("link", name=re.compile("Review of progress")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("safe drinking water")

    # views in each of the six languages, four of each (the language filter counts them)
    options = page.get_by_label("Language of the views").locator("option")
    for name in ("English", "French", "Spanish", "Arabic", "Chinese", "Russian"):
        expect(options.filter(has_text=f"{name} (4)")).to_have_count(1)
    hearings = page.locator("section#hearings")
    expect(hearings.locator(".hearing-live")).to_contain_text("Progress review: safe water and sanitation")
    expect(hearings.locator("li", has_text="Regional session: Africa and the Arab States")).to_contain_text("UTC")
    slug_url = page.url

    page.get_by_role("link", name="Who took part").click()
    gender = page.locator("table", has_text="Gender")
    expect(gender.first).to_contain_text("Woman")
    expect(page.locator("main")).to_contain_text("Global South")

    page.goto(slug_url)
    hearings.locator("li", has_text="Opening session: where SDG 6 stands").get_by_role(
        "link", name=re.compile("Transcript")
    ).click()
    record = page.locator("table", has_text="Toilets in rural schools")
    expect(record).to_be_visible()  # the speakers' record: four turns
    for topic in ("تمويل المرافق البلدية", "Données ouvertes sur la qualité de l'eau", "农村供水的资金"):
        expect(record).to_contain_text(topic)
    for lang in LANGUAGES:
        expect(page.locator(f'ol.transcript .view-text[lang="{lang}"]').first).to_be_visible()
    expect(page.locator("li.chair-summary")).to_contain_text("We heard two concerns in every language")
    page.get_by_role("link", name="Themes in this hearing's messages").click()
    expect(page.get_by_role("heading", name="Themes, largest first")).to_be_visible()
    expect(page.locator("main")).to_contain_text(re.compile("baseline survey|tariffs|water points", re.I))
    context.close()
