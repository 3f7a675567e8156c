"""Reports: figures checked against hand-computed values; freezing, verification, tampering,
transmission to a webhook (a real local HTTP server), exports and the API."""

import hashlib
import hmac
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from agora.extensions import db
from agora.models import Consultation, Report, User
from agora.services.errors import Conflict
from agora.services.reporting import reports
from tests.conftest import civic_statements, csrf_from, login


@pytest.fixture
def closed_consultation(app, make):
    """Three submitters with known profiles and one voter without; then the consultation closes."""
    from agora.services.participation import submissions

    cid = make.consultation("Water for all", forum="UN Water Conference")
    u1 = make.user(email="u1@example.org", constituency="ngo", country="KE", gender="woman")
    u2 = make.user(email="u2@example.org", constituency="ngo", country="FR", gender="man")
    u3 = make.user(email="u3@example.org", constituency="academia", country="BR", gender="undisclosed")
    u4 = make.user(email="u4@example.org")
    texts = civic_statements(3)
    s1 = make.submission(cid, u1, texts[0])
    s2 = make.submission(cid, u2, texts[1])
    s3 = make.submission(cid, u3, texts[2])
    with app.app_context():
        users = {u: db.session.get(User, u) for u in (u1, u2, u4)}
        submissions.vote(s1, users[u4], "agree")
        submissions.vote(s2, users[u1], "agree")
        submissions.vote(s1, users[u2], "disagree")
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
    return {"cid": cid, "subs": (s1, s2, s3), "texts": texts}


def _rows(rows):
    return {r["key"]: (r["count"], r["share"]) for r in rows}


def test_figures_match_hand_computed_values(app, closed_consultation):
    with app.app_context():
        content = reports.build(closed_consultation["cid"])
    p = content["participation"]
    assert (p["participants"], p["submitters"], p["voters"], p["submissions"], p["votes"]) == (4, 3, 3, 3, 3)
    assert _rows(p["participants_by"]["constituency"]) == {
        "ngo": (2, 0.5),
        "academia": (1, 0.25),
        "not_stated": (1, 0.25),
    }
    assert _rows(p["participants_by"]["region"]) == {
        "Africa": (1, 0.25),
        "Europe": (1, 0.25),
        "Americas": (1, 0.25),
        "not_stated": (1, 0.25),
    }
    assert _rows(p["participants_by"]["gender"]) == {
        "woman": (1, 0.25),
        "man": (1, 0.25),
        "undisclosed": (1, 0.25),
        "not_stated": (1, 0.25),
    }
    assert p["balance"]["global_south_share"] == pytest.approx(0.6667)
    assert p["balance"]["largest_constituency"]["key"] == "ngo"
    assert p["balance"]["largest_constituency"]["share_of_stated"] == pytest.approx(0.6667)
    assert any("One constituency dominates" in w for w in p["balance"]["warnings"])
    assert not any("region dominates" in w for w in p["balance"]["warnings"])
    assert _rows(p["submissions_by"]["channel"]) == {"web": (3, 1.0)}
    assert sum(t["size"] for t in content["themes"]["items"]) + content["themes"]["unassigned"] == 3
    for theme in content["themes"]["items"]:
        for quote in theme["quotes"]:
            assert quote["text"] in closed_consultation["texts"]
    assert content["moderation"]["published_at_once"] == 3
    assert content["consultation"]["forum"] == "UN Water Conference"


def test_report_names_no_participant(app, closed_consultation):
    with app.app_context():
        report = reports.create_draft(closed_consultation["cid"], None)
        body = report.content_json
        names = [u.display_name for u in db.session.query(User)] + [u.email for u in db.session.query(User)]
    for name in names:
        assert name not in body


def test_open_consultation_is_refused_and_empty_one_reports_no_input(app, make):
    open_id = make.consultation("Still open")
    empty_id = make.consultation("Nobody came", status="closed")
    with app.app_context():
        with pytest.raises(Conflict) as error:
            reports.create_draft(open_id, None)
        assert "still open" in error.value.message
        report = reports.create_draft(empty_id, None)
        content = reports.content_of(report)
        assert content["empty"] is True and content["participation"]["participants"] == 0
        frozen = reports.freeze(report.id, None)
        assert reports.verify_report(frozen.id).ok


def test_frozen_report_never_changes_and_verifies(app, closed_consultation, make):
    with app.app_context():
        report = reports.create_draft(closed_consultation["cid"], None)
        frozen = reports.freeze(report.id, None)
        sha, body = frozen.sha256, frozen.content_json
        assert hashlib.sha256(body.encode()).hexdigest() == sha
        assert db.session.get(Consultation, closed_consultation["cid"]).status == "reported"
        with pytest.raises(Conflict):
            reports.freeze(frozen.id, None)
        with pytest.raises(Conflict):
            reports.regenerate(frozen.id, None)
    # new data after freezing must not alter the frozen report: a late view, the consultation reopened for it
    with app.app_context():
        db.session.get(Consultation, closed_consultation["cid"]).status = "open"
        db.session.commit()
    make.submission(
        closed_consultation["cid"], make.user(email="late@example.org"), "Une contribution arrivée après le rapport."
    )
    with app.app_context():
        db.session.get(Consultation, closed_consultation["cid"]).status = "closed"
        db.session.commit()
    with app.app_context():
        again = db.session.get(Report, frozen.id)
        assert again.content_json == body and again.sha256 == sha
        assert reports.verify_report(frozen.id).ok
        correction = reports.new_version(frozen.id, None)
        assert correction.version == 2 and correction.supersedes_id == frozen.id and correction.state == "draft"


def test_tampering_is_detected_in_the_store_and_in_packages(app, closed_consultation):
    with app.app_context():
        frozen = reports.freeze(reports.create_draft(closed_consultation["cid"], None).id, None)
        package = frozen.package
        assert reports.verify_package(package).ok

        archive = zipfile.ZipFile(io.BytesIO(package))
        files = {name: archive.read(name) for name in archive.namelist()}
        assert {"report.json", "report.html", "report.pdf", "manifest.json"} <= set(files)
        assert files["report.pdf"].startswith(b"%PDF")

        def repack(changes):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as out:
                for name, data in {**files, **changes}.items():
                    out.writestr(name, data)
            return buffer.getvalue()

        html = reports.verify_package(
            repack({"report.html": files["report.html"].replace(b"Water for all", b"Water for some")})
        )
        assert not html.ok and any(p.startswith("report.html: changed") for p in html.problems)
        doctored = json.loads(files["report.json"])
        doctored["participation"]["participants"] = 4000
        body = reports.canonical(doctored)
        manifest = json.loads(files["manifest.json"])
        manifest["files"]["report.json"] = hashlib.sha256(body).hexdigest()
        forged = reports.verify_package(repack({"report.json": body, "manifest.json": reports.canonical(manifest)}))
        assert (
            not forged.ok
            and any("manifest.json" in p for p in forged.problems)
            and any("report.json" in p for p in forged.problems)
        )
        assert not reports.verify_package(b"not a zip").ok

        db.session.execute(
            db.text(
                "UPDATE reports SET content_json = replace(content_json, 'Water for all', 'Water for few') WHERE id = :id"
            ),
            {"id": frozen.id},
        )
        db.session.commit()
        assert not reports.verify_report(frozen.id).ok


class _Hook(BaseHTTPRequestHandler):
    replies: list = []
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        status = _Hook.replies.pop(0) if _Hook.replies else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook
    server.shutdown()


def test_transmission_retries_then_delivers_with_a_valid_signature(app, closed_consultation, webhook):
    url, hook = webhook
    hook.replies = [500, 500, 200]
    app.config["JOBS_BACKEND"] = "inline"
    app.config["WEBHOOK_BACKOFF_SECONDS"] = 0.01
    try:
        with app.app_context():
            frozen = reports.freeze(reports.create_draft(closed_consultation["cid"], None).id, None)
            forum = reports.create_forum("UN Water Conference", url, "s3cret")
            frozen_sha = frozen.sha256
            transmission = reports.transmit(frozen.id, forum.id, None)
            db.session.refresh(transmission)
            assert transmission.state == "delivered" and transmission.attempts == 3
            assert transmission.log.count("HTTP 500") == 2
    finally:
        app.config["JOBS_BACKEND"] = "thread"
    headers, body = hook.received[-1]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Agora-Signature"] == expected
    assert json.loads(body)["sha256"] == frozen_sha


def test_unreachable_webhook_is_marked_failed_and_nothing_is_lost(app, closed_consultation):
    app.config["WEBHOOK_BACKOFF_SECONDS"] = 0.01
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.5
    with app.app_context():
        frozen = reports.freeze(reports.create_draft(closed_consultation["cid"], None).id, None)
        forum = reports.create_forum("Nowhere forum", "http://127.0.0.1:9/hook")
        app.config["JOBS_BACKEND"] = "inline"
        try:
            transmission = reports.transmit(frozen.id, forum.id, None)
        finally:
            app.config["JOBS_BACKEND"] = "thread"
        db.session.refresh(transmission)
        assert transmission.state == "failed" and transmission.attempts == reports.WEBHOOK_ATTEMPTS
        assert transmission.last_error
        assert reports.verify_report(frozen.id).ok


def test_pages_downloads_and_api(app, client, make, closed_consultation):
    make.user(email="sec@example.org", role="admin")
    login(client, "sec@example.org")
    cid = closed_consultation["cid"]
    token = csrf_from(client, "/admin/reports")
    response = client.post("/admin/reports", data={"consultation_id": str(cid), "csrf_token": token})
    assert response.status_code == 302
    report_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    draft_page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "Draft: not yet frozen." in draft_page and "Who took part" in draft_page
    anonymous = app.test_client()
    assert anonymous.get(f"/reports/{report_id}").status_code == 404
    assert client.post(f"/admin/reports/{report_id}/freeze", data={"csrf_token": token}).status_code == 302
    page = anonymous.get(f"/reports/{report_id}").get_data(as_text=True)
    assert (
        "SHA-256" in page and "Not balanced: NGO / civil society is 67" in page
    )  # the verdict, in the reader's language
    assert anonymous.get(f"/reports/{report_id}.pdf").data.startswith(b"%PDF")
    assert anonymous.get(f"/reports/{report_id}/tables/themes.csv").get_data(as_text=True).startswith("theme_id,label")
    listed = anonymous.get("/api/v1/reports").get_json()["items"]
    assert [r["id"] for r in listed] == [report_id]
    full = anonymous.get(f"/api/v1/reports/{report_id}").get_json()
    assert full["content"]["participation"]["participants"] == 4
    package = anonymous.get(f"/api/v1/reports/{report_id}/package").data
    verdict = anonymous.post("/api/v1/reports/verify", data=package, content_type="application/zip").get_json()
    assert verdict["ok"] is True
    assert anonymous.post("/api/v1/reports/verify", data=b"x", content_type="text/plain").status_code == 422
    assert anonymous.get("/api/v1/reports/999").status_code == 404
    participant = app.test_client()
    make.user(email="nobody@example.org")
    login(participant, "nobody@example.org")
    assert participant.get("/admin/reports").status_code == 403
    assert (
        participant.post(f"/admin/reports/{report_id}/freeze", data={"csrf_token": csrf_from(participant)}).status_code
        == 403
    )


def test_cli_builds_and_freezes_with_progress(app, closed_consultation):
    with app.app_context():
        slug = db.session.get(Consultation, closed_consultation["cid"]).slug
    result = app.test_cli_runner().invoke(args=["agora", "report", slug, "--transmit-to", "UN Water Conference"])
    assert result.exit_code == 0, result.output
    assert (
        "Themes…" in result.output
        and "Frozen: SHA-256" in result.output
        and "Transmission to UN Water Conference recorded" in result.output
    )
