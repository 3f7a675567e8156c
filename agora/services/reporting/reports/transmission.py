"""Forums and transmission: a transmission is recorded and shown publicly; a forum with a webhook
gets a JSON notice signed with HMAC-SHA256 of the body, retried with exponential backoff."""

import hashlib
import hmac
import logging
import time

from sqlalchemy import select

from agora.extensions import db
from agora.models import Forum, Report, Transmission, User
from agora.models._base import utcnow
from agora.services.errors import Conflict, Invalid, NotFound
from agora.services.reporting.reports.encoding import _iso, canonical
from agora.services.reporting.reports.lifecycle import get
from agora.services.sanitize import clean_line

log = logging.getLogger(__name__)


WEBHOOK_ATTEMPTS = 5


def forums() -> list[Forum]:
    return list(db.session.scalars(select(Forum).order_by(Forum.name)))


def create_forum(name: object, webhook_url: str | None = None, webhook_secret: str | None = None) -> Forum:
    clean = clean_line(name, max_chars=200, field="name")
    if db.session.scalar(select(Forum.id).where(Forum.name == clean)):
        raise Conflict("A forum with this name exists already.", field="name")
    url = (webhook_url or "").strip() or None
    if url and not (url.startswith("https://") or url.startswith("http://")):
        raise Invalid("The webhook must be an http(s) URL.", field="webhook_url")
    forum = Forum(name=clean, webhook_url=url, webhook_secret=(webhook_secret or "").strip() or None)
    db.session.add(forum)
    db.session.commit()
    return forum


def transmit(report_id: int, forum_id: int, user: User | None) -> Transmission:
    report = get(report_id)
    if report.state != "frozen":
        raise Conflict("Only a frozen report can be transmitted.", code="not_frozen")
    forum = db.session.get(Forum, forum_id)
    if forum is None:
        raise NotFound("There is no forum with this number.")
    # transmitted again (a failed webhook, a second try): participants were told the first time
    told_before = db.session.scalar(
        select(Transmission.id).where(Transmission.report_id == report.id, Transmission.forum_id == forum.id).limit(1)
    )
    transmission = Transmission(
        report_id=report.id,
        forum_id=forum.id,
        state="pending" if forum.webhook_url else "recorded",
        recorded_by_id=user.id if user else None,
        log=f"{_iso(utcnow())} recorded by the secretariat\n",
    )
    db.session.add(transmission)
    db.session.commit()
    if told_before is None:
        from agora.services.accounts import notifications

        notifications.announce_to_participants(
            "report_transmitted", report.consultation_id, {"report_id": report.id, "forum": forum.name}
        )
    if forum.webhook_url:
        from agora import jobs

        jobs.submit("agora.services.reporting.reports.deliver", transmission.id)
    return transmission


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body with the forum's shared secret (header X-Agora-Signature)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def deliver(transmission_id: int, *, backoff: float | None = None) -> Transmission | None:
    """POST the report's summary to the forum's webhook; retry with exponential backoff, then mark
    failed. A transmission that is gone (None) or already delivered is returned as it is."""
    import requests
    from flask import current_app

    transmission = db.session.get(Transmission, transmission_id)
    if transmission is None or transmission.state not in ("pending", "failed"):
        return transmission
    report, forum = transmission.report, transmission.forum
    base = current_app.config.get("WEBHOOK_BACKOFF_SECONDS", 2.0) if backoff is None else backoff
    timeout = current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10)
    body = canonical(
        {
            "event": "report.transmitted",
            "report_id": report.id,
            "title": report.title,
            "version": report.version,
            "sha256": report.sha256,
            "manifest_sha256": report.manifest_sha256,
            "consultation": report.consultation.slug,
            "frozen_at": _iso(report.frozen_at),
            "package_path": f"/api/v1/reports/{report.id}/package",
        }
    )
    headers = {"Content-Type": "application/json", "X-Agora-Delivery": str(transmission.id)}
    if forum.webhook_secret:
        headers["X-Agora-Signature"] = signature(forum.webhook_secret, body)
    for attempt in range(transmission.attempts + 1, WEBHOOK_ATTEMPTS + 1):
        transmission.attempts = attempt
        try:
            response = requests.post(forum.webhook_url, data=body, headers=headers, timeout=timeout)
            outcome = f"HTTP {response.status_code}"
            ok = 200 <= response.status_code < 300
        except requests.RequestException as error:
            outcome, ok = f"{error.__class__.__name__}: {str(error)[:200]}", False
        transmission.log += f"{_iso(utcnow())} attempt {attempt}: {outcome}\n"
        if ok:
            transmission.state, transmission.delivered_at, transmission.last_error = "delivered", utcnow(), None
            db.session.commit()
            log.info("report %s delivered to %s", report.id, forum.name)
            return transmission
        transmission.last_error = outcome
        db.session.commit()
        log.warning("report %s delivery to %s failed (attempt %s): %s", report.id, forum.name, attempt, outcome)
        if attempt < WEBHOOK_ATTEMPTS:
            time.sleep(base * 2 ** (attempt - 1))
    transmission.state = "failed"
    db.session.commit()
    return transmission


def transmissions_of(consultation_id: int) -> list[Transmission]:
    return list(
        db.session.scalars(
            select(Transmission)
            .join(Report, Report.id == Transmission.report_id)
            .where(Report.consultation_id == consultation_id)
            .order_by(Transmission.created_at.desc())
        )
    )
