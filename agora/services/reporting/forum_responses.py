"""What a forum did with a transmitted report, as the secretariat records it: the last step of a
consultation, shown on its page and on every participant's "My views", and told to each of them.

The response is entered in the moderation audit chain (action ``forum_response``, no submission)
in the same transaction, so the public record of what the forum decided cannot be rewritten
without it showing in ``agora moderation verify-audit``.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, select, union

from agora import permissions
from agora.extensions import db
from agora.models import Forum, ForumResponse, Report, Submission, Transmission, User, Vote
from agora.models._base import utcnow
from agora.models.report import FORUM_DECISIONS
from agora.services import audit
from agora.services.accounts import notifications
from agora.services.errors import Conflict, Forbidden, Invalid, NotFound
from agora.services.sanitize import clean_line, clean_text

MAX_TEXT = 2000


@dataclass(frozen=True)
class ResponseInput:
    decision: str
    decided_on: str  # ISO date, as a form sends it
    forum_id: int | None = None
    document: str | None = None
    url: str | None = None
    text: str | None = None
    text_language: str | None = None


def _valid_url(raw: str | None) -> str | None:
    """An absolute http(s) link with a host, no spaces or control characters; else Invalid."""
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > 500:
        raise Invalid("The link is longer than 500 characters.", field="url")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise Invalid("The link is not a valid web address.", field="url") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise Invalid("The link must be a full web address starting with https:// or http://.", field="url")
    return value


def record(report_id: int, user: User, data: ResponseInput) -> ForumResponse:
    """The secretariat records a forum's response to a transmitted report; participants are told."""
    if not permissions.is_admin(user):
        raise Forbidden("Only the secretariat records what a forum did with a report.")
    report = db.session.get(Report, report_id)
    if report is None or report.state != "frozen":
        raise NotFound("There is no frozen report with this number.")
    sent_to = list(db.session.scalars(select(Transmission.forum_id).where(Transmission.report_id == report.id)))
    if not sent_to:
        raise Conflict(
            "Record the report's transmission to its forum first: a response answers a transmitted report.",
            code="not_transmitted",
        )
    forum_id = data.forum_id or (sent_to[0] if len(set(sent_to)) == 1 else None)
    if forum_id not in sent_to:
        raise Invalid("Choose a forum this report was sent to.", field="forum_id")
    if data.decision not in FORUM_DECISIONS:
        raise Invalid("Choose what the forum did with the report.", field="decision")
    try:
        decided_on = date.fromisoformat((data.decided_on or "").strip())
    except ValueError:
        raise Invalid("Give the date of the forum's decision (year-month-day).", field="decided_on") from None
    if decided_on > utcnow().date() + timedelta(days=1):  # a day's grace: time zones
        raise Invalid("The forum's decision cannot be in the future.", field="decided_on")
    document = clean_line(data.document, max_chars=120, field="document") if (data.document or "").strip() else None
    url = _valid_url(data.url)
    if not document and not url:
        raise Invalid("Give the forum's document number or a link to its decision.", field="document")
    text = clean_text(data.text, max_chars=MAX_TEXT, field="text") if (data.text or "").strip() else None
    language = (data.text_language or "").strip() or None
    if text and language not in current_app.config["LANGUAGES"]:
        raise Invalid("Say which of the six languages the text is written in.", field="text_language")
    response = ForumResponse(
        report_id=report.id,
        forum_id=forum_id,
        decision=data.decision,
        decided_on=decided_on,
        document=document,
        url=url,
        text=text,
        text_language=language if text else None,
        recorded_by_id=user.id,
    )
    db.session.add(response)
    db.session.flush()
    audit.record(
        submission_id=None,
        actor_id=user.id,
        automatic=False,
        action="forum_response",
        from_state=None,
        to_state=data.decision,
        reason=f"report {report.id}, response {response.id}",
        note=" · ".join(part for part in (decided_on.isoformat(), document, url, text) if part),
    )
    db.session.commit()
    notifications.announce_to_participants(
        "forum_response", report.consultation_id, {"report_id": report.id, "response_id": response.id}
    )
    return response


@dataclass(frozen=True)
class Shown:
    """A response as pages show it."""

    response: ForumResponse
    report: Report
    forum_name: str | None


def _shown(query: Select) -> list[Shown]:
    rows = db.session.execute(
        query.add_columns(Report, Forum.name)
        .join(Report, Report.id == ForumResponse.report_id)
        .outerjoin(Forum, Forum.id == ForumResponse.forum_id)
        .order_by(ForumResponse.decided_on.desc(), ForumResponse.id.desc())
    ).all()
    return [Shown(response, report, forum_name) for response, report, forum_name in rows]


def of_consultation(consultation_id: int) -> list[Shown]:
    return _shown(select(ForumResponse).where(Report.consultation_id == consultation_id))


def of_report(report_id: int) -> list[Shown]:
    return _shown(select(ForumResponse).where(ForumResponse.report_id == report_id))


def for_participant(user: User) -> dict[int, list[Shown]]:
    """consultation id -> the responses to its reports, for each consultation the person gave input to."""
    mine = union(
        select(Submission.consultation_id).where(Submission.author_id == user.id),
        select(Submission.consultation_id)
        .join(Vote, Vote.submission_id == Submission.id)
        .where(Vote.user_id == user.id),
    ).subquery()
    grouped: dict[int, list[Shown]] = {}
    for shown in _shown(select(ForumResponse).where(Report.consultation_id.in_(select(mine.c[0])))):
        grouped.setdefault(shown.report.consultation_id, []).append(shown)
    return grouped
