"""Telling participants what happened to their input: in the app always (unless they turn a kind
off), by email only when they chose it for that kind and a mail server is configured.

A notification stores ids and codes (``params``), never a sentence: it is written when shown, in
the reader's language (``describe``), in a page or in an email. Moderation events are added in
the transaction that makes the decision; events about a whole consultation (its report sent, the
forum's response) reach every participant through a background job (``fan_out``). Email leaves
through the outbox (``agora.services.accounts.mail``), never from a request.
"""

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast
from urllib.parse import urljoin

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CursorResult, func, select, union, update

from agora.extensions import db
from agora.i18n import N_
from agora.models import Notification, NotificationPreference, NotificationSettings, Submission, User, Vote
from agora.models._base import utcnow
from agora.models.notification import CHANNELS, NOTIFICATION_KINDS
from agora.services.errors import Invalid, NotFound

log = logging.getLogger(__name__)
PAGE = 50
FAN_OUT_BATCH = 500
_UNSUBSCRIBE_SALT = "agora.unsubscribe"


# --- preferences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    channels: dict  # kind -> in_app | email | off
    digest: bool
    email_possible: bool  # an account with an address, and a mail server configured


def mail_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def preferences(user: User) -> Preferences:
    rows = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    settings = db.session.get(NotificationSettings, user.id)
    return Preferences(
        {kind: rows.get(kind, "in_app") for kind in NOTIFICATION_KINDS},
        bool(settings and settings.digest),
        bool(user.email) and mail_configured(),
    )


def set_preferences(user: User, channels: dict, digest: bool) -> Preferences:
    """Save a channel per kind (kinds not given keep theirs) and the digest choice."""
    for kind, channel in channels.items():
        if kind not in NOTIFICATION_KINDS:
            raise Invalid("There is no notification of this kind.", field=kind)
        if channel not in CHANNELS:
            raise Invalid("Choose in the app, by email, or off.", field=kind)
        if channel == "email" and not user.email:
            raise Invalid("Your account has no email address to write to.", field=kind)
    existing = {
        p.kind: p
        for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    for kind, channel in channels.items():
        if kind in existing:
            existing[kind].channel = channel
        else:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel))
    settings = db.session.get(NotificationSettings, user.id) or NotificationSettings(user_id=user.id)
    settings.digest = bool(digest)
    if any(channel == "email" for channel in channels.values()):
        settings.unsubscribed_at = None
    db.session.add(settings)
    db.session.flush()
    # what was waiting to be emailed under a channel now turned off is not emailed after all
    off = [kind for kind, channel in channels.items() if channel != "email"]
    if off:
        still_email = db.session.scalar(
            select(func.count()).where(
                NotificationPreference.user_id == user.id, NotificationPreference.channel == "email"
            )
        )
        drop_waiting_emails(user.id, kinds=None if not still_email else off, reason="the recipient turned email off")
    db.session.commit()
    return preferences(user)


def drop_waiting_emails(user_id: int, *, kinds: Iterable[str] | None = None, reason: str) -> None:
    """No email for these kinds of the person's notifications (None: any kind) that is not sent
    yet: the notifications stay in the app. With kinds None, emails already written and waiting in
    the outbox are cancelled too (an email is not tied to one kind: a digest holds several). The
    caller commits."""
    from agora.models import OutgoingEmail

    waiting = (Notification.user_id == user_id, Notification.email_state.in_(("queued", "digest")))
    scoped = (*waiting, Notification.kind.in_(list(kinds))) if kinds is not None else waiting
    db.session.execute(update(Notification).where(*scoped).values(email_state="none"))
    if kinds is None:
        db.session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.user_id == user_id, OutgoingEmail.state.in_(("queued", "failed")))
            .values(state="cancelled", last_error=reason)
        )


def unsubscribe_token(user_id: int) -> str:
    """A signed token naming the person; it never expires (old emails' links keep working)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT).dumps({"u": user_id})


def user_for_token(token: str) -> User:
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT).loads(token)
        user = db.session.get(User, int(data["u"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        user = None
    if user is None or user.deleted_at is not None:
        raise NotFound("This unsubscribe link is not valid.")
    return user


def unsubscribe(token: str) -> User:
    """Turn every email off for the token's person (in-app notifications stay) and drop the
    emails still waiting for them. Idempotent."""
    user = user_for_token(token)
    for preference in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    ):
        if preference.channel == "email":
            preference.channel = "in_app"
    settings = db.session.get(NotificationSettings, user.id) or NotificationSettings(user_id=user.id)
    settings.unsubscribed_at = utcnow()
    db.session.add(settings)
    drop_waiting_emails(user.id, reason="the recipient unsubscribed")
    db.session.commit()
    log.info("user %s unsubscribed from all email", user.id)
    return user


# --- adding notifications ---------------------------------------------------------------


def _channels_of(user_ids: list[int], kind: str) -> dict[int, tuple[str, bool]]:
    """user id -> (channel, digest) for accounts that can be told (not deleted, not SMS)."""
    found = {}
    for chunk in _chunks(sorted(set(user_ids)), FAN_OUT_BATCH):
        rows = db.session.execute(
            select(User.id, User.email, NotificationPreference.channel, NotificationSettings.digest)
            .outerjoin(
                NotificationPreference,
                (NotificationPreference.user_id == User.id) & (NotificationPreference.kind == kind),
            )
            .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
            .where(User.id.in_(chunk), User.kind == "account", User.deleted_at.is_(None))
        ).all()
        for user_id, email, channel, digest in rows:
            channel = channel or "in_app"
            if channel == "email" and not email:
                channel = "in_app"
            found[user_id] = (channel, bool(digest))
    return found


def add(user_ids: Iterable[int], kind: str, params: dict) -> int:
    """Add one notification of ``kind`` per person who has not turned it off, to the caller's
    transaction (the caller commits, then calls ``after_commit``). Returns how many emails wait."""
    return add_each(kind, [(user_id, params) for user_id in user_ids])


def add_each(kind: str, items: Iterable[tuple[int | None, dict]]) -> int:
    """Like ``add``, with params of each person's own: (user id, params) pairs, their preferences
    looked up in one query (a screened batch of views tells all its authors at once)."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    people = [(user_id, params) for user_id, params in items if user_id]
    if not people:
        return 0
    channels = _channels_of([user_id for user_id, _params in people], kind)
    mail = mail_configured()
    emails = 0
    rows = []
    for user_id, params in people:
        if user_id not in channels:
            continue
        channel, digest = channels[user_id]
        if channel == "off":
            continue
        state = "none"
        if channel == "email" and mail:
            state = "digest" if digest else "queued"
            emails += 1
        rows.append(
            Notification(
                user_id=user_id,
                kind=kind,
                params=json.dumps(params, sort_keys=True, separators=(",", ":")),
                email_state=state,
            )
        )
    db.session.add_all(rows)
    if emails:
        db.session.info["agora_mail_waiting"] = True
    return emails


def after_commit() -> None:
    """Once the caller's transaction is committed: start the mail job if it added emails."""
    if db.session.info.pop("agora_mail_waiting", False):
        schedule_mail()


def schedule_mail() -> None:
    from agora import jobs

    try:
        jobs.submit("agora.services.accounts.mail.process")
    except Exception:  # the emails wait in the database; the next run (or `agora mail send`) sends them
        log.exception("could not start the mail job")


def for_moderation(submission: Submission, action: str, reason: str | None = None) -> None:
    """The author of a view is told what moderation did (called inside the decision's transaction)."""
    for_moderation_many([submission], action, reason)


def for_moderation_many(submissions: Iterable[Submission], action: str, reason: str | None = None) -> None:
    """Each view's author is told what moderation did to it: one preference look-up for them all."""
    if action == "hold":
        kind = "view_held"
    elif action == "publish":
        kind = "view_published"
    elif action in ("restore", "uphold"):
        kind = "appeal_decided"
    else:
        kind = "view_decided"
    items = []
    for submission in submissions:
        params = {"submission_id": submission.id, "consultation_id": submission.consultation_id, "action": action}
        if reason:
            params["reason"] = reason
        items.append((submission.author_id, params))
    add_each(kind, items)


def participants_of(consultation_id: int) -> list[int]:
    """Every account that gave input to a consultation: wrote a view (in any state) or voted.
    Imported and SMS participants have no account to read a notification in."""
    authors = select(Submission.author_id.label("user_id")).where(
        Submission.consultation_id == consultation_id, Submission.author_id.is_not(None)
    )
    voters = (
        select(Vote.user_id.label("user_id"))
        .join(Submission, Submission.id == Vote.submission_id)
        .where(Submission.consultation_id == consultation_id)
    )
    people = union(authors, voters).subquery()
    return list(
        db.session.scalars(
            select(User.id)
            .join(people, people.c.user_id == User.id)
            .where(User.kind == "account", User.deleted_at.is_(None))
        )
    )


def announce_to_participants(kind: str, consultation_id: int, params: dict) -> None:
    """After the caller's commit: tell every participant; a few hundred at once (a few
    milliseconds), more in a background job so the secretariat's request stays quick."""
    from agora import jobs

    people = participants_of(consultation_id)
    if len(people) > FAN_OUT_BATCH:
        jobs.submit("agora.services.accounts.notifications.fan_out", kind, consultation_id, json.dumps(params))
        return
    add(people, kind, {**params, "consultation_id": consultation_id})
    db.session.commit()
    after_commit()


def fan_out(kind: str, consultation_id: int, params_json: str) -> int:
    """The job: one notification per participant, added in batches; then the mail job. A retried
    job (its process died part-way) tells only those its first run had not reached."""
    params = {**json.loads(params_json), "consultation_id": consultation_id}
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == kind,
                Notification.params == json.dumps(params, sort_keys=True, separators=(",", ":")),
            )
        )
    )
    people = [person for person in participants_of(consultation_id) if person not in told]
    total = 0
    for chunk in _chunks(people, FAN_OUT_BATCH):
        total += len(chunk)
        add(chunk, kind, params)
        db.session.commit()
    after_commit()
    log.info("%s: %d participant(s) of consultation %s told", kind, total, consultation_id)
    return total


# --- reading ----------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(user: User, before_id: int | None = None, limit: int = PAGE) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit)
    if before_id:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read, or all of them; returns how many changed."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    changed = cast(CursorResult, db.session.execute(query.values(read_at=utcnow()))).rowcount  # an UPDATE's result
    db.session.commit()
    return changed


# --- describing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Described:
    """A notification as a reader sees it, in the current language."""

    id: int
    kind: str
    text: str
    url: str  # a path; emails make it absolute
    created_at: datetime
    read: bool


# Moderation actions as participants read them (translated where shown).
ACTION_TEXT = {
    "approve": N_("A moderator published your view in “%(title)s”."),
    "hide": N_("A moderator hid your view in “%(title)s” (%(reason)s). You may appeal once, from “My views”."),
    "reject": N_("A moderator rejected your view in “%(title)s” (%(reason)s). You may appeal once, from “My views”."),
    "keep": N_("A moderator looked at reports about your view in “%(title)s” and kept it published."),
    "publish": N_("Your view in “%(title)s” was screened and published."),
    "hold": N_("Your view in “%(title)s” is waiting for a moderator: screening held it for a person to read."),
    "restore": N_("Your appeal was decided: your view in “%(title)s” is restored and published."),
    "uphold": N_("Your appeal was decided: the decision on your view in “%(title)s” stands. This is final."),
}
N_("The report on “%(title)s”, a consultation you took part in, was sent to %(forum)s.")
N_("%(forum)s responded to the report on “%(title)s”: %(decision)s.")
N_("The forum responded to the report on “%(title)s”: %(decision)s.")


def describe(notifications: list[Notification], locale: str) -> list[Described]:
    """Each notification as a sentence and a link in ``locale`` (inside a request context)."""
    from flask import url_for
    from flask_babel import gettext

    from agora.models import Consultation, Forum, ForumResponse
    from agora.models.moderation import CODE_OF_CONDUCT
    from agora.models.report import FORUM_DECISIONS
    from agora.services.participation import consultations

    decoded = [(n, json.loads(n.params or "{}")) for n in notifications]
    consultation_ids = {p.get("consultation_id") for _n, p in decoded if p.get("consultation_id")}
    found = {
        c.id: c for c in db.session.scalars(select(Consultation).where(Consultation.id.in_(consultation_ids or {-1})))
    }
    translations = consultations.translations_in(locale, consultation_ids) if consultation_ids else {}
    out = []
    for notification, params in decoded:
        consultation = found.get(params.get("consultation_id"))
        title = (
            consultations.localized(consultation, locale, translations.get(consultation.id, False)).title
            if consultation
            else "—"
        )
        slug = consultation.slug if consultation else None
        kind = notification.kind
        url = url_for("notifications.index")
        if kind in ("view_published", "view_held", "view_decided", "appeal_decided"):
            action = params.get("action", "")
            reason = (
                gettext(CODE_OF_CONDUCT.get(params.get("reason", ""), ""))
                if params.get("reason") in CODE_OF_CONDUCT
                else ""
            )
            text = gettext(ACTION_TEXT.get(action, "Your view in “%(title)s” was decided."), title=title, reason=reason)
            submission_id = params.get("submission_id")
            # the query survives a sign-in (the fragment never reaches the server); My views turns it back
            url = url_for("moderation.my_views", view=submission_id) + f"#v{submission_id}"
        elif kind == "report_transmitted":
            text = gettext(
                "The report on “%(title)s”, a consultation you took part in, was sent to %(forum)s.",
                title=title,
                forum=params.get("forum", "—"),
            )
            url = url_for("reports.show", report_id=params.get("report_id", 0))
        elif kind == "forum_response":
            response = db.session.get(ForumResponse, params.get("response_id", 0))
            decision = (
                gettext(FORUM_DECISIONS[response.decision])
                if response and response.decision in FORUM_DECISIONS
                else "—"
            )
            forum = db.session.get(Forum, response.forum_id) if response and response.forum_id else None
            if forum:
                text = gettext(
                    "%(forum)s responded to the report on “%(title)s”: %(decision)s.",
                    forum=forum.name,
                    title=title,
                    decision=decision,
                )
            else:
                text = gettext(
                    "The forum responded to the report on “%(title)s”: %(decision)s.", title=title, decision=decision
                )
            url = (url_for("consultations.detail", slug=slug) if slug else url_for("reports.index")) + "#what-happened"
        else:
            text = kind
        out.append(
            Described(notification.id, kind, text, url, notification.created_at, notification.read_at is not None)
        )
    return out


def absolute(path: str) -> str:
    return urljoin(current_app.config["PUBLIC_URL"].rstrip("/") + "/", path.lstrip("/"))


_T = TypeVar("_T")


def _chunks(items: Iterable[_T], n: int) -> Iterator[list[_T]]:
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]
