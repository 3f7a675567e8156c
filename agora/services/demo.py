"""The demo: consultations at different stages, one with a real Pol.is conversation and its votes."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from agora.extensions import db
from agora.models import Consultation, Report, User
from agora.models._base import utcnow
from agora.services import demo_story
from agora.services.accounts import accounts
from agora.services.participation import consultations, imports

DATA = Path(__file__).resolve().parents[2] / "data"
DEMO_ADMIN_EMAIL = "secretariat@agora.example"
DEMO_ADMIN_PASSWORD = "agora-demo-secretariat"
DEMO_FORUM = "Demonstration forum on local-to-global civic input"

POLIS_ATTRIBUTION = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed "
    "under CC BY 4.0 with Attribution to The Computational Democracy Project. "
    "Case study: https://compdemocracy.org/case-studies/2018-kentucky"
)

OTHERS = [
    consultations.ConsultationInput(
        title="Governing artificial intelligence for sustainable development",
        summary="An emerging issue: what should an intergovernmental approach to AI protect and enable?",
        briefing_html=(
            "<p>Artificial intelligence is being deployed in public services, labour markets and "
            "information ecosystems faster than rules are written. This round table gathers views "
            "on what an intergovernmental approach should protect, enable and monitor.</p>"
            "<h3>Questions</h3><ul><li>Which uses of AI need international rules first?</li>"
            "<li>How should countries with little computing capacity take part?</li>"
            "<li>What should be measured to know whether the rules work?</li></ul>"
        ),
        stage="round_table",
        status="open",
        forum="High-level Political Forum on Sustainable Development",
        languages="en,fr,es,ar,zh,ru",
    ),
    consultations.ConsultationInput(
        title="Review of progress: access to safe drinking water and sanitation (SDG 6)",
        summary="A multi-stakeholder hearing reviewing progress on SDG 6 commitments.",
        briefing_html=(
            "<p>Governments committed to universal access to safe drinking water and sanitation by 2030. "
            "This hearing reviews what has been delivered, where progress has stalled and who is being "
            "left behind.</p>"
        ),
        stage="hearing",
        status="open",
        forum="UN Water Conference follow-up",
        languages="en,fr,es,ar,zh,ru",
    ),
    consultations.ConsultationInput(
        title="Partnerships to end plastic pollution",
        summary="Closed: views on how partnerships can implement a global instrument on plastics.",
        briefing_html="<p>How should governments, business and civil society share the work of ending plastic pollution?</p>",
        stage="partnership",
        status="closed",
        forum="Intergovernmental Negotiating Committee on Plastic Pollution",
        languages="en,fr,es",
    ),
]


DEMO_CHAIR_EMAIL = "chair@agora.example"
DEMO_CHAIR_PASSWORD = "agora-demo-chair"
# A live hearing on SDG 6: three concerns, each in the six UN languages (written for the demo), from
# participants who declared a constituency and a country, so the chair's summary has something to show.
HEARING_MESSAGES = [
    ("Villages far from the pipes still walk two hours for water; extend the network to them first.", "ngo", "KE"),
    (
        "Dans nos villages, les femmes marchent encore deux heures pour chercher de l'eau potable.",
        "womens_organisation",
        "SN",
    ),
    ("Las comunidades rurales siguen sin agua potable: hay que llevar la red hasta ellas.", "indigenous_peoples", "PE"),
    ("ما زالت القرى البعيدة تمشي ساعتين للحصول على مياه الشرب.", "local_authority", "EG"),
    ("偏远村庄的人们仍要走两个小时去取饮用水。", "academia", "CN"),
    ("В отдалённых сёлах люди до сих пор ходят за питьевой водой по два часа.", "ngo", "KZ"),
    ("Girls miss school when there are no separate, clean toilets.", "youth", "GH"),
    ("Sans toilettes propres et séparées, les filles manquent l'école.", "youth", "CI"),
    ("Las niñas faltan a clase cuando la escuela no tiene baños limpios y separados.", "womens_organisation", "BO"),
    ("تتغيب الفتيات عن المدرسة عندما لا توجد مراحيض نظيفة ومنفصلة.", "ngo", "JO"),
    ("学校没有干净、独立的厕所，女孩们就会缺课。", "youth", "CN"),
    ("Девочки пропускают уроки, если в школе нет чистых отдельных туалетов.", "academia", "RU"),
    ("Water tariffs must stay affordable for the poorest households.", "private_sector", "IN"),
    ("Les tarifs de l'eau doivent rester abordables pour les ménages les plus pauvres.", "local_authority", "FR"),
    ("Las tarifas del agua deben ser asequibles para los hogares más pobres.", "trade_union", "MX"),
    ("يجب أن تبقى تعريفات المياه في متناول الأسر الأشد فقراً.", "private_sector", "MA"),
    ("水价必须让最贫困的家庭负担得起。", "local_authority", "CN"),
    ("Тарифы на воду должны оставаться доступными для самых бедных семей.", "trade_union", "UA"),
]


_T = TypeVar("_T")


def _created(value: _T | None, what: str) -> _T:
    """Something the demo made a step earlier: its absence is a bug, named (not an error on None)."""
    if value is None:
        raise LookupError(f"The demo's {what} is missing: it is created earlier in the load.")
    return value


def _live_hearing(progress: Callable[[str], None]) -> None:
    """The SDG 6 review gets a live hearing with a chair and eighteen messages in six languages."""
    from agora.services import hearings

    water = _created(
        db.session.scalar(select(Consultation).where(Consultation.title.like("Review of progress: access to safe%"))),
        "SDG 6 consultation",
    )
    chair = accounts.register(DEMO_CHAIR_EMAIL, DEMO_CHAIR_PASSWORD, "Demo chair")
    hearing = hearings.create(water.id, "Progress review: safe water and sanitation (SDG 6)")
    hearings.appoint_chair(hearing, chair, None)
    hearings.open_hearing(hearing, chair)
    for i, (text, constituency, country) in enumerate(HEARING_MESSAGES, start=1):
        person = accounts.register(f"hearing-participant-{i}@agora.example", DEMO_CHAIR_PASSWORD, f"Participant {i}")
        accounts.update_profile(
            person,
            accounts.Profile(
                display_name=person.display_name,
                constituency=constituency,
                country=country,
                gender=None,
                languages=None,
                locale=None,
            ),
        )
        hearings.post_message(hearing, person, text, client_id=f"demo-{i}")
    progress(
        f"Live hearing '{hearing.title}' with {len(HEARING_MESSAGES)} messages in six languages; "
        f"its chair: {DEMO_CHAIR_EMAIL} / {DEMO_CHAIR_PASSWORD} (/hearings/{hearing.id})"
    )


def _report_and_transmit(consultation: Consultation, progress: Callable[[str], None]) -> None:
    """The demo's closed deliberation gets a frozen report, transmitted to a forum."""
    from agora.services.reporting import reports

    report = reports.create_draft(consultation.id, None, progress=lambda m: progress(f"  report: {m}"))
    report = reports.freeze(report.id, None)
    forum = reports.create_forum(DEMO_FORUM)
    reports.transmit(report.id, forum.id, None)
    progress(
        f"Report #{report.id} frozen (SHA-256 {_created(report.sha256, 'frozen report SHA-256')[:16]}…) and its transmission recorded."
    )
    _forum_response(report, progress)


def _forum_response(report: Report, progress: Callable[[str], None]) -> None:
    """What the demonstration forum did with the report: closes the loop on the consultation's
    page and its participants' "My views"."""
    from agora.services.reporting import forum_responses

    admin = _created(db.session.scalar(select(User).where(User.email == DEMO_ADMIN_EMAIL)), "secretariat account")
    forum_responses.record(
        report.id,
        admin,
        forum_responses.ResponseInput(
            decision="noted",
            decided_on=utcnow().date().isoformat(),
            document="DEMO/2026/1",
            text="The forum took note of the report and asked the city to answer its three most agreed "
            "statements at the next session. (A demonstration: no real forum decided this.)",
            text_language="en",
        ),
    )
    progress("The demonstration forum's response to the report is recorded (What happened with your input).")


def _supersede_older_report(progress: Callable[[str], None]) -> None:
    """A demo loaded before reports had their summary: its frozen report (which never changes) is
    superseded by a new version that has it, frozen and transmitted like the first."""
    from agora.services.reporting import reports

    polis = _created(
        db.session.scalar(select(Consultation).where(Consultation.slug == "improving-bowling-green")),
        "Pol.is consultation",
    )
    latest = max(
        (r for r in reports.public_list(polis.id) if r.hearing_id is None), key=lambda r: r.version, default=None
    )
    if latest is None or "summary" in reports.content_of(latest):
        return
    report = reports.freeze(reports.new_version(latest.id, None).id, None)
    forum = next((f for f in reports.forums() if f.name == DEMO_FORUM), None)
    if forum is not None:
        reports.transmit(report.id, forum.id, None)
    progress(
        f"Report #{report.id} (version {report.version}) frozen with the summary; it supersedes report #{latest.id}."
    )


def load(progress: Callable[[str], None] = print) -> None:
    if db.session.scalar(select(Consultation.id).where(Consultation.slug == "improving-bowling-green")):
        progress("Demo already loaded; nothing added.")
        demo_story.tell(db.session.scalar(select(User).where(User.email == DEMO_CHAIR_EMAIL)), progress)
        _supersede_older_report(progress)
        return
    if not db.session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL)):
        admin = accounts.register(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "Demo secretariat")
        accounts.assign_role(admin, "admin", None, None)
        progress(f"Demo secretariat account: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
    polis = consultations.create(
        consultations.ConsultationInput(
            slug="improving-bowling-green",
            title="Improving Bowling Green / Warren County",
            summary="A real public deliberation (Pol.is, 2018): what should change to make the county a better place to live, work and spend time?",
            briefing_html=(
                "<p>What do you believe should change in Bowling Green/Warren County in order to make it "
                "a better place to live, work and spend time?</p><p>This consultation holds the real "
                "statements and votes of the 2018 American Assembly conversation: 896 statements "
                "(607 published, 289 hidden by its moderators) and 2,031 participants, 2,010 of whom "
                "voted on the published statements: the counts here are of those 2,010.</p>"
            ),
            stage="round_table",
            status="closed",
            forum="Demonstration: local-to-global civic input",
            languages="en",
            opens_at=datetime(2018, 2, 1),
            closes_at=datetime(2018, 3, 1),
            attribution=POLIS_ATTRIBUTION,
        )
    )
    progress(f"Importing the Pol.is conversation into '{polis.title}'…")
    result = imports.import_polis(polis, DATA / "polis", prefix="polis-bg", progress=progress)
    progress(f"Imported {result.statements} statements, {result.participants} participants, {result.votes:,} votes.")
    for data in OTHERS:
        created = consultations.create(data)
        progress(f"Created consultation '{created.title}' ({created.stage}, {created.status}).")
    _report_and_transmit(polis, progress)
    _live_hearing(progress)
    demo_story.tell(accounts.find_user_by_email(DEMO_CHAIR_EMAIL), progress)
    from agora.services.analysis import opinions, themes  # a command, not the event loop: compute them here

    themes.refit(polis.id, progress=progress)
    opinions.refit(polis.id, progress=progress)
    progress("Demo loaded.")
