"""The demo: consultations at different stages, one with a real Pol.is conversation and its votes."""
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from agora.extensions import db
from agora.models import Consultation, User
from agora.services import accounts, consultations, imports

DATA = Path(__file__).resolve().parents[2] / "data"
DEMO_ADMIN_EMAIL = "secretariat@agora.example"
DEMO_ADMIN_PASSWORD = "agora-demo-secretariat"

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
        languages="en,fr,es",
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


def _report_and_transmit(consultation, progress) -> None:
    """The demo's closed deliberation gets a frozen report, transmitted to a forum."""
    from agora.services import reports

    report = reports.create_draft(consultation.id, None, progress=lambda m: progress(f"  report: {m}"))
    report = reports.freeze(report.id, None)
    forum = reports.create_forum("Demonstration forum on local-to-global civic input")
    reports.transmit(report.id, forum.id, None)
    progress(f"Report #{report.id} frozen (SHA-256 {report.sha256[:16]}…) and its transmission recorded.")


def load(progress=print) -> None:
    if db.session.scalar(select(Consultation.id).where(Consultation.slug == "improving-bowling-green")):
        progress("Demo already loaded; nothing added.")
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
                "statements and votes of the 2018 American Assembly conversation: 896 statements, "
                "2,031 participants.</p>"
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
    progress(
        f"Imported {result.statements} statements, {result.participants} participants, {result.votes:,} votes."
    )
    for data in OTHERS:
        created = consultations.create(data)
        progress(f"Created consultation '{created.title}' ({created.stage}, {created.status}).")
    _report_and_transmit(polis, progress)
    from agora.services import opinions, themes  # a command, not the event loop: compute them here

    themes.refit(polis.id, progress=progress)
    opinions.refit(polis.id, progress=progress)
    progress("Demo loaded.")
