"""An empty report says so in sentences instead of drawing empty tables; the secretariat's
dashboard counts what waits for them (a failed transmission among them)."""

import re

from agora.extensions import db
from agora.models import Transmission
from agora.services.reporting import reports
from tests.conftest import login


def test_an_empty_report_renders_no_empty_table(app, client, make):
    make.user(email="desk@example.org", role="admin")
    empty_id = make.consultation("Consultation sans contributions", status="closed")
    with app.app_context():
        report_id = reports.create_draft(empty_id, None).id
    login(client, "desk@example.org")
    page = client.get(f"/reports/{report_id}?lang=en").get_data(as_text=True)
    assert not re.search(r"<tbody>\s*</tbody>", page)
    assert "Submissions by language: nothing to show (no published submissions)." in page


def test_the_dashboard_lists_a_failed_transmission_and_a_consultation_to_report(app, client, make):
    make.user(email="desk@example.org", role="admin")
    reported = make.consultation("Ocean plastics", status="closed")
    waiting = make.consultation("Agua potable", status="closed")
    with app.app_context():
        report = reports.freeze(reports.create_draft(reported, None).id, None)
        forum = reports.create_forum("High-level political forum")
        transmission = reports.transmit(report.id, forum.id, None)
        db.session.get(Transmission, transmission.id).state = "failed"
        db.session.commit()
    login(client, "desk@example.org")
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Transmission to <bdi>High-level political forum</bdi> failed: deliver it again" in page
    assert "Closed, no report yet: <bdi>Agua potable</bdi>" in page
    assert "Closed, no report yet: <bdi>Ocean plastics</bdi>" not in page
    assert waiting
