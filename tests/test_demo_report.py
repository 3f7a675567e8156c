"""The demo's frozen report carries the summary and the groups' directions: a database loaded before
them gets, when `flask agora demo` runs again, a new version that supersedes the old frozen one
(which never changes), is transmitted to the demo forum and verifies."""

from agora.extensions import db
from agora.models import Consultation, Report, Submission, Transmission, User, Vote
from agora.services import demo
from agora.services.reporting import reports


def test_demo_rerun_supersedes_a_report_frozen_before_the_summary(app, make):
    cid = make.consultation("Improving Bowling Green / Warren County", slug="improving-bowling-green")
    texts = [
        "Les parcs doivent rester verts.",
        "الحافلات يجب أن تعمل ليلاً.",
        "公园需要更多树木。",
        "Нужны новые тротуары.",
        "Hay que reparar las calles.",
        "Schools need summer meals.",
    ]
    with app.app_context():
        ids = []
        for text in texts:
            submission = Submission(consultation_id=cid, kind="view", text=text, state="published", channel="import")
            db.session.add(submission)
            db.session.flush()
            ids.append(submission.id)
        for person in range(12):
            user = User(display_name=f"Voter {person}")
            db.session.add(user)
            db.session.flush()
            for i, sid in enumerate(ids):
                db.session.add(Vote(submission_id=sid, user_id=user.id, value=1 if (i + person) % 3 else -1))
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        draft = reports.create_draft(cid, None)
        content = reports.content_of(draft)
        del content["summary"]  # as frozen before reports had a summary
        draft.content_json = reports.canonical(content).decode("utf-8")
        db.session.commit()
        older = reports.freeze(draft.id, None)
        older_id, older_sha = older.id, older.sha256
        forum = reports.create_forum("Demonstration forum on local-to-global civic input")  # demo.DEMO_FORUM
        said = []
        demo.load(progress=said.append)
        newest = db.session.scalars(
            db.select(Report).where(Report.consultation_id == cid).order_by(Report.version.desc())
        ).first()
        assert newest.id != older_id and newest.state == "frozen" and newest.supersedes_id == older_id
        assert "summary" in reports.content_of(newest) and reports.content_of(newest)["summary"]["claims"]
        assert reports.verify_report(newest.id).ok and reports.verify_package(newest.package).ok
        assert (
            db.session.get(Report, older_id).sha256 == older_sha and reports.verify_report(older_id).ok
        )  # the old one is untouched
        assert db.session.scalar(
            db.select(Transmission.id).where(Transmission.report_id == newest.id, Transmission.forum_id == forum.id)
        )
        assert any(f"supersedes report #{older_id}" in line for line in said)
        demo.load(progress=said.append)  # once is enough
        assert db.session.scalar(db.select(db.func.count(Report.id)).where(Report.consultation_id == cid)) == 2
