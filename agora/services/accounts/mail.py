"""The email outbox: notifications become emails in their recipient's language, and a background
job hands them to the configured SMTP server (Python's smtplib and email packages).

Nothing here runs in a request: ``process`` is a job (``agora.jobs.submit``), and the CLI's
``agora mail send`` runs it from cron for the daily digests. Every email is a row before it is
sent; a failure is logged with the server's answer and retried with backoff; after
``MAIL_MAX_ATTEMPTS`` the row stays ``failed`` (listed by ``agora mail failed``, sent again by
``agora mail retry``), never dropped. Each recipient gets at most ``MAIL_PER_RECIPIENT_PER_HOUR``
emails an hour; the rest wait for the next hour.
"""

import logging
import smtplib
import ssl
import time
from collections import defaultdict
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import cast

from flask import current_app, g, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import CursorResult, func, or_, select, update

from agora.extensions import db
from agora.models import Notification, NotificationSettings, OutgoingEmail, User
from agora.models._base import utcnow
from agora.services.accounts import notifications

log = logging.getLogger(__name__)
DIGEST_HOURS = 24
BATCH = 200
STALE_SENDING = timedelta(minutes=15)  # a row left "sending" by a job that died goes back to the queue


# --- rendering --------------------------------------------------------------------------


def _locale_of(user: User) -> str:
    if user.locale is not None and user.locale in current_app.config["LANGUAGES"]:
        return user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def render(user: User, items: list[Notification], *, digest: bool) -> OutgoingEmail:
    """The email for ``items`` in ``user``'s interface language: plain text and HTML (escaped by
    Jinja's autoescape), with the unsubscribe link in the body and the headers."""
    locale = _locale_of(user)
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    with current_app.test_request_context("/", base_url=base), force_locale(locale):
        g.pop("_agora_catalogue", None)  # templates' gettext caches the catalogue per context (agora/i18n.py)
        described = notifications.describe(items, locale)
        token = notifications.unsubscribe_token(user.id)
        unsubscribe_url = notifications.absolute(url_for("notifications.unsubscribe", token=token))
        values = {
            "user": user,
            "items": described,
            "absolute": notifications.absolute,
            "digest": digest,
            "unsubscribe_url": unsubscribe_url,
            "preferences_url": notifications.absolute(url_for("notifications.preferences")),
            "locale": locale,
            "direction": "rtl" if locale in ("ar", "he", "fa", "ur") else "ltr",
        }
        # in a template: the catalogue extraction keeps plurals from templates (scripts/translations.py)
        subject = " ".join(
            render_template(
                "notifications/email_subject.html",
                digest=digest,
                count=len(described),
                text=_shorten(described[0].text, 120),
            ).split()
        )
        return OutgoingEmail(
            user_id=user.id,
            to_address=user.email,
            subject=subject,
            text_body=render_template("notifications/email.txt", **values),
            html_body=render_template("notifications/email.html", **values),
            unsubscribe_url=unsubscribe_url,
        )


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _claim_notifications(ids: list[int], state: str) -> list[int]:
    """Take these notifications out of ``state`` for this run; others running at once get none of them."""
    claimed = []
    for notification_id in ids:
        if cast(
            CursorResult,
            db.session.execute(  # an UPDATE's result
                update(Notification)
                .where(Notification.id == notification_id, Notification.email_state == state)
                .values(email_state="sent")
            ),
        ).rowcount:
            claimed.append(notification_id)
    return claimed


def queue_singles() -> int:
    """One email per notification waiting in state "queued"."""
    ids = list(
        db.session.scalars(
            select(Notification.id).where(Notification.email_state == "queued").order_by(Notification.id).limit(BATCH)
        )
    )
    made = 0
    for notification_id in _claim_notifications(ids, "queued"):
        notification = db.session.get(Notification, notification_id)
        if notification is None:
            continue  # claimed above, in this transaction: not expected, and nothing to send
        user = db.session.get(User, notification.user_id)
        if user is None or not user.email or user.deleted_at is not None:
            continue
        db.session.add(render(user, [notification], digest=False))
        made += 1
    db.session.commit()
    return made


def queue_digests(now: datetime | None = None) -> int:
    """One email per person whose digest is due: their notifications waiting in state "digest",
    once a day (the first a day after the first of them)."""
    now = now or utcnow()
    due_before = now - timedelta(hours=DIGEST_HOURS)
    rows = db.session.execute(
        select(Notification.user_id, func.min(Notification.created_at))
        .where(Notification.email_state == "digest")
        .group_by(Notification.user_id)
    ).all()
    made = 0
    for user_id, oldest in rows:
        settings = db.session.get(NotificationSettings, user_id)
        last = settings.digest_sent_at if settings else None
        if (last or oldest) > due_before:
            continue
        ids = list(
            db.session.scalars(
                select(Notification.id)
                .where(Notification.user_id == user_id, Notification.email_state == "digest")
                .order_by(Notification.id)
            )
        )
        claimed = _claim_notifications(ids, "digest")
        user = db.session.get(User, user_id)
        if not claimed or user is None or not user.email:
            db.session.commit()
            continue
        items = list(
            db.session.scalars(select(Notification).where(Notification.id.in_(claimed)).order_by(Notification.id))
        )
        db.session.add(render(user, items, digest=True))
        settings = settings or NotificationSettings(user_id=user_id)
        settings.digest_sent_at = now
        db.session.add(settings)
        db.session.commit()
        made += 1
    return made


# --- sending ----------------------------------------------------------------------------


def message_for(email: OutgoingEmail) -> EmailMessage:
    """The MIME message: text and HTML alternatives; RFC 8058 one-click unsubscribe headers."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=current_app.config["MAIL_FROM"].rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"
    if email.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text_body)
    message.add_alternative(email.html_body, subtype="html")
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    security, timeout = config["SMTP_SECURITY"], config["SMTP_TIMEOUT"]
    host, port = config["SMTP_HOST"], config["SMTP_PORT"]
    context = ssl.create_default_context(cafile=config.get("SMTP_CA_FILE"))  # verifies the certificate and host name
    connection: smtplib.SMTP
    if security == "ssl":
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
        if security == "starttls":
            connection.starttls(context=context)
    if config.get("SMTP_USER"):
        connection.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return connection


def _sent_last_hour(user_ids: set[int], now: datetime) -> defaultdict[int, list[datetime]]:
    """When each of these people was sent an email in the last hour (an empty list for the others)."""
    since = now - timedelta(hours=1)
    sent: defaultdict[int, list[datetime]] = defaultdict(list)
    for user_id, sent_at in db.session.execute(
        select(OutgoingEmail.user_id, OutgoingEmail.sent_at)
        .where(
            OutgoingEmail.user_id.in_(user_ids or {-1}), OutgoingEmail.state == "sent", OutgoingEmail.sent_at >= since
        )
        .order_by(OutgoingEmail.sent_at)
    ):
        if user_id is not None and sent_at is not None:  # always, by the WHERE: the columns are nullable
            sent[user_id].append(sent_at)
    return sent


def send_due(now: datetime | None = None) -> dict:
    """Send the outbox's due emails over one SMTP connection; returns counts by outcome."""
    began = utcnow()
    now = now or began
    config = current_app.config
    outcome = {"sent": 0, "failed": 0, "retry": 0, "deferred": 0}
    if not config.get("SMTP_HOST"):
        return outcome
    db.session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.state == "sending", OutgoingEmail.next_attempt_at < now - STALE_SENDING)
        .values(state="queued")
    )
    db.session.commit()
    due = list(
        db.session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.state == "queued", OutgoingEmail.next_attempt_at <= now)
            .order_by(OutgoingEmail.id)
            .limit(BATCH)
        )
    )
    if not due:
        return outcome
    limit = config["MAIL_PER_RECIPIENT_PER_HOUR"]
    recent = _sent_last_hour({e.user_id for e in due if e.user_id}, now)
    connection = None
    try:
        for email in due:
            stamps = recent[email.user_id] if email.user_id else []
            if limit and len(stamps) >= limit:
                email.next_attempt_at = stamps[-limit] + timedelta(hours=1)
                outcome["deferred"] += 1
                log.info(
                    "email %s to user %s waits until %s: %d sent in the last hour",
                    email.id,
                    email.user_id,
                    email.next_attempt_at,
                    len(stamps),
                )
                continue
            claimed = cast(
                CursorResult,
                db.session.execute(  # an UPDATE's result
                    update(OutgoingEmail)
                    .where(OutgoingEmail.id == email.id, OutgoingEmail.state == "queued")
                    # stamped when claimed, not when the batch began: a slow server's long batch
                    # must not look stale (and be sent again by another run) while it is sent
                    .values(
                        state="sending", attempts=OutgoingEmail.attempts + 1, next_attempt_at=now + (utcnow() - began)
                    )
                ),
            ).rowcount
            db.session.commit()
            if not claimed:
                continue
            db.session.refresh(email)
            try:
                if connection is None:
                    connection = _connect()
                connection.send_message(message_for(email))
            except (smtplib.SMTPException, OSError) as error:
                _drop(connection)
                connection = None
                why = f"{error.__class__.__name__}: {str(error)[:300]}"
                email.last_error = why
                if email.attempts >= config["MAIL_MAX_ATTEMPTS"]:
                    email.state = "failed"
                    outcome["failed"] += 1
                    log.error(
                        "email %s to user %s failed for good after %d attempts: %s",
                        email.id,
                        email.user_id,
                        email.attempts,
                        why,
                    )
                else:
                    email.state = "queued"
                    email.next_attempt_at = now + timedelta(
                        seconds=config["MAIL_RETRY_SECONDS"] * 2 ** (email.attempts - 1)
                    )
                    outcome["retry"] += 1
                    log.warning(
                        "email %s to user %s not sent (attempt %d), retried at %s: %s",
                        email.id,
                        email.user_id,
                        email.attempts,
                        email.next_attempt_at,
                        why,
                    )
            else:
                email.state, email.sent_at, email.last_error = "sent", utcnow(), None
                stamps.append(email.sent_at)
                outcome["sent"] += 1
            db.session.commit()
    finally:
        _drop(connection)
        db.session.commit()
    return outcome


def _drop(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
    return None


def process(now: datetime | None = None, *, wait: bool = True) -> dict:
    """The mail job: render what waits, send what is due; if a retry falls due within a few
    minutes, wait for it here (this runs in the job process or a thread, never in a request)."""
    totals: defaultdict[str, int] = defaultdict(int)
    for _round in range(current_app.config["MAIL_MAX_ATTEMPTS"] + 1):
        while queue_singles():
            pass
        queue_digests(now)
        for key, value in send_due(now).items():
            totals[key] += value
        if not wait or now is not None:
            break
        upcoming = db.session.scalar(
            select(func.min(OutgoingEmail.next_attempt_at)).where(OutgoingEmail.state == "queued")
        )
        pause = (upcoming - utcnow()).total_seconds() if upcoming else None
        if pause is None or pause > current_app.config["MAIL_WAIT_SECONDS"]:
            break
        time.sleep(max(pause, 0))
    return dict(totals)


def failed(limit: int = 100) -> list[OutgoingEmail]:
    return list(
        db.session.scalars(
            select(OutgoingEmail).where(OutgoingEmail.state == "failed").order_by(OutgoingEmail.id.desc()).limit(limit)
        )
    )


def retry_failed() -> int:
    """Put every failed email back in the queue with fresh attempts (after fixing the server)."""
    changed = cast(
        CursorResult,
        db.session.execute(  # an UPDATE's result
            update(OutgoingEmail)
            .where(OutgoingEmail.state == "failed")
            .values(state="queued", attempts=0, next_attempt_at=utcnow())
        ),
    ).rowcount
    db.session.commit()
    return changed


def pending_count() -> int:
    return (
        db.session.scalar(
            select(func.count(OutgoingEmail.id)).where(
                or_(OutgoingEmail.state == "queued", OutgoingEmail.state == "sending")
            )
        )
        or 0
    )
