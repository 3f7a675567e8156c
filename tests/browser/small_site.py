"""A small seeded site (not the demo) for page-by-page browser checks: an open consultation with a
closing date, a closed one with views in the six UN languages and votes, its frozen and
transmitted report, a live hearing and an ended one, an organisation's statement, a held view,
and one account per role. Starts in seconds, so the checks can visit every page."""

import json
import os
import subprocess
import sys

import pytest

from tests.live_server import ROOT, LiveServer, separate_database

PASSWORD = "correct horse battery"
ROLES = {
    "admin": "site-admin@example.org",
    "moderator": "site-moderator@example.org",
    "chair": "site-chair@example.org",
    "participant": "site-participant@example.org",
}
VIEWS = [
    "Which uses of artificial intelligence should need a public licence?",
    "Shared public computing would let small countries train their own models.",
    "Les petits pays ont besoin d'une infrastructure de calcul publique et partagée.",
    "Il faut publier les jeux de données utilisés pour entraîner les modèles publics.",
    "Los países pequeños necesitan infraestructura pública de cómputo compartida.",
    "Los datos de entrenamiento de los modelos públicos deben ser abiertos.",
    "تحتاج البلدان الصغيرة إلى بنية حاسوبية عامة ومشتركة.",
    "يجب نشر البيانات المستخدمة في تدريب النماذج العامة.",
    "小国需要共享的公共计算基础设施。",
    "用于训练公共模型的数据应当公开。",
    "Малым странам нужна общая государственная вычислительная инфраструктура.",
    "Данные для обучения государственных моделей должны быть открытыми.",
]
SEED = r"""
import json, sys
from datetime import datetime, timedelta
from agora import create_app
from agora.extensions import db
from agora.services import hearings, moderation
from agora.services.accounts import accounts, organisations
from agora.services.participation import consultations, submissions
from agora.services.reporting import reports
password, roles, views = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
app = create_app()
with app.app_context():
    people = {role: accounts.register(email, password, name) for (role, email), name in
              zip(roles.items(), ["Secretariat Sam", "Moderator Ken", "Chair Amina", "Nadia"])}
    accounts.assign_role(people["admin"], "admin", None, None)
    accounts.assign_role(people["moderator"], "moderator", None, None)
    accounts.update_profile(people["participant"], accounts.Profile(display_name="Nadia", constituency="ngo",
                            country="KE", gender=None, languages="en,sw", locale=None))
    now = datetime.utcnow()
    open_one = consultations.create(consultations.ConsultationInput(
        title="Governing artificial intelligence for sustainable development", summary="How should AI be governed?",
        stage="hearing", status="open", forum="High-level political forum", languages="en,fr,ar,zh",
        opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=20)))
    closed = consultations.create(consultations.ConsultationInput(
        title="Review of progress: access to safe water", summary="What has worked, what has not?",
        stage="round_table", status="open", forum="High-level political forum", languages="en,fr,es,ar,zh,ru"))
    voters = [accounts.register(f"site-voter-{i}@example.org", password, f"Voter {i}") for i in range(8)]
    for i, person in enumerate(voters):
        accounts.update_profile(person, accounts.Profile(display_name=person.display_name,
            constituency=["ngo", "private_sector", "parliamentarian"][i % 3], country=["KE", "FR", "CN", "EG"][i % 4],
            gender=None, languages=None, locale=None))
    published = []
    for i, text in enumerate(views):
        s, _ = submissions.submit(closed.id, voters[i % len(voters)], text)
        published.append(s)
    for i, person in enumerate(voters):
        for j, s in enumerate(published):
            submissions.vote(s.id, person, ["agree", "disagree", "pass"][(i * j + i) % 3])
    mine, _ = submissions.submit(open_one.id, people["participant"], views[0])
    held, _ = submissions.submit(open_one.id, people["participant"], "Buy cheap pills now http://spam.example http://spam.example http://spam.example")
    print("held state:", held.state, file=sys.stderr)
    org = organisations.register(people["participant"], organisations.OrganisationInput(
        name="Youth for Water Kenya", constituency="ngo", country="KE", website="https://youth.example",
        description="A youth network.", is_network=True))
    statement = organisations.publish_joint_statement(org.id, open_one.id, people["participant"],
        "Young people must be heard on water policy.")
    live = hearings.create(open_one.id, "Progress review: public-interest AI")
    hearings.appoint_chair(live, people["chair"], people["admin"])
    hearings.open_hearing(live, people["chair"])
    hearings.post_message(live, people["participant"], "Which regions still lack shared data centres?", client_id="site-1")
    past = hearings.create(closed.id, "Review hearing: safe water")
    hearings.appoint_chair(past, people["chair"], people["admin"])
    hearings.open_hearing(past, people["chair"])
    hearings.post_message(past, voters[0], "Rural water points need maintenance budgets.", client_id="site-2")
    hearings.close_hearing(past, people["chair"])
    consultations.set_status(closed, "closed")
    try:
        from agora.services.analysis import opinions, themes
        themes.refit(closed.id)
        opinions.refit(closed.id)
    except Exception as error:  # the analysis pages still render their "not yet" state
        print("analysis:", error, file=sys.stderr)
    report = reports.create_draft(closed.id, people["admin"])
    report = reports.freeze(report.id, people["admin"])
    forum = reports.create_forum("High-level political forum")
    reports.transmit(report.id, forum.id, people["admin"])
    draft = reports.new_version(report.id, people["admin"])
    print(json.dumps({"slug": open_one.slug, "closed_slug": closed.slug, "consultation_id": open_one.id,
                      "closed_id": closed.id, "hearing_id": live.id, "past_hearing_id": past.id,
                      "report_id": report.id, "draft_report_id": draft.id, "organisation_id": org.id,
                      "statement_id": statement.id, "submission_id": held.id, "mine_id": mine.id}))
"""


def run_seed(server, script: str, *args: str) -> dict:
    """Run a seed script against the server's database and instance, in a process of its own
    (the services as the server would call them); returns the JSON its last line prints."""
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": server.database_url,
        "AGORA_INSTANCE_PATH": server.instance,
        "AGORA_SECRET_KEY": "live-test-secret",
    }
    out = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed(server) -> dict:
    return run_seed(server, SEED, PASSWORD, json.dumps(ROLES), json.dumps(VIEWS))


@pytest.fixture(scope="session")
def small_site():
    database_url = separate_database("smallsite")
    server = LiveServer(database_url).wait(timeout=240)
    server.database_url = database_url
    data = seed(server)
    data["base"] = server.url
    yield data
    server.stop()


def sign_in(page, base: str, role: str) -> None:
    """Sign in through the real form (English labels), in the page's own context."""
    page.goto(base + "/account/login?lang=en")
    page.get_by_label("Email").fill(ROLES[role])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/account/logout']").count() == 1, f"{role} could not sign in: {page.url}"


def sign_out(page) -> None:
    """Forget the session (the context stays: one browser, one context)."""
    page.context.clear_cookies()
