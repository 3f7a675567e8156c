"""Adds to the demo server what the page-by-page checks need: a participant with views, a
moderator, a live hearing with a message, a translation. Run once per test session."""

import json
import os
import subprocess
import sys

import pytest

from tests.live_server import ROOT

PASSWORD = "correct horse battery"
SEED = r"""
import json, sys
from sqlalchemy import select
from agora import create_app
from agora.extensions import db
from agora.models import Consultation, Report, User
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.participation import consultations, submissions
app = create_app()
with app.app_context():
    def user(email, name):
        found = db.session.scalar(select(User).where(User.email == email))
        return found or accounts.register(email, sys.argv[1], name)
    admin = db.session.scalar(select(User).where(User.is_admin.is_(True)))
    participant = user("a11y-participant@example.org", "Nadia")
    moderator = user("a11y-moderator@example.org", "Moderator Ken")
    chair = user("a11y-chair@example.org", "Chair Amina")
    accounts.assign_role(moderator, "moderator", None, None)
    open_one = db.session.scalar(select(Consultation).where(Consultation.status == "open").order_by(Consultation.id))
    submissions.submit(open_one.id, participant, "Shared public computing infrastructure would let small countries train their own models.")
    submissions.submit(open_one.id, participant, "Buy cheap pills now http://spam.example http://spam.example http://spam.example")
    consultations.save_translation(open_one, "ar", "حوكمة الذكاء الاصطناعي من أجل التنمية المستدامة",
        "كيف ينبغي حوكمة الذكاء الاصطناعي؟", "<p>ملخص الإحاطة باللغة العربية.</p>")
    h = hearings.create(open_one.id, "Progress review: public-interest AI")
    hearings.appoint_chair(h, chair, admin)
    hearings.open_hearing(h, chair)
    hearings.post_message(h, participant, "Regional data centres should be shared by neighbouring countries.", client_id="a11y-1")
    report = db.session.scalar(select(Report).order_by(Report.id))
    print(json.dumps({"open_slug": open_one.slug, "open_id": open_one.id, "hearing_id": h.id,
                      "report_id": report.id if report else None, "password": sys.argv[1]}))
"""


@pytest.fixture(scope="session")
def showcase(demo_server):
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": demo_server.database_url,
        "AGORA_INSTANCE_PATH": demo_server.instance,
        "AGORA_SECRET_KEY": "live-test-secret",
    }
    out = subprocess.run(
        [sys.executable, "-c", SEED, PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["base"] = demo_server.url
    return data


def sign_in(context, base: str, email: str, password: str = PASSWORD):
    """Sign a browser context in through the real form (English labels)."""
    page = context.new_page()
    page.goto(base + "/account/login?lang=en")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.close()
