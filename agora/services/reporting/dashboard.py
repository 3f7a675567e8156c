"""What needs the secretariat now: the list a secretariat member lands on after signing in.

Each item is a count and the page where it is dealt with; nothing here changes anything."""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from agora.extensions import db
from agora.models import Consultation, Report, Transmission, User
from agora.models._base import utcnow
from agora.services import moderation

CLOSING_SOON = timedelta(days=14)


@dataclass(frozen=True)
class Tasks:
    held: int  # views waiting for a moderator (held or not yet screened)
    appeals: int
    closing_soon: list[Consultation] = field(default_factory=list)  # open, closing within two weeks
    past_closing: list[Consultation] = field(default_factory=list)  # still "open" though their date has passed
    to_report: list[Consultation] = field(default_factory=list)  # closed, no report yet
    drafts: list[Report] = field(default_factory=list)  # reports waiting to be frozen
    failed: list[Transmission] = field(default_factory=list)  # transmissions whose delivery failed

    @property
    def nothing(self) -> bool:
        return not (
            self.held
            or self.appeals
            or self.closing_soon
            or self.past_closing
            or self.to_report
            or self.drafts
            or self.failed
        )


def secretariat_tasks(user: User) -> Tasks:
    now = utcnow()
    open_ones = list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.status == "open", Consultation.closes_at.is_not(None))
            .order_by(Consultation.closes_at)
        )
    )
    reported_ids = select(Report.consultation_id)
    return Tasks(
        held=sum(moderation.backlog(user).values()),
        appeals=len(moderation.open_appeals(user)),
        # closes_at is never None here (the query's filter); said again for the type checker
        closing_soon=[c for c in open_ones if c.closes_at is not None and now < c.closes_at <= now + CLOSING_SOON],
        past_closing=[c for c in open_ones if c.closes_at is not None and c.closes_at <= now],
        to_report=list(
            db.session.scalars(
                select(Consultation)
                .where(Consultation.status == "closed", Consultation.id.not_in(reported_ids))
                .order_by(Consultation.id)
            )
        ),
        drafts=list(db.session.scalars(select(Report).where(Report.state == "draft").order_by(Report.id))),
        failed=list(
            db.session.scalars(
                select(Transmission).where(Transmission.state == "failed").order_by(Transmission.id.desc())
            )
        ),
    )


def reportable(consultations: list[Consultation]) -> list[Consultation]:
    """Those a report can be drafted for: closed or reported (an open one must be closed first, so
    the report covers everything)."""
    return [c for c in consultations if c.status in ("closed", "reported")]


def can_hold_hearing(consultations: list[Consultation]) -> list[Consultation]:
    """Those a new hearing may belong to: published and not yet reported (a draft has no public
    page; a reported one's record is frozen)."""
    return [c for c in consultations if c.status in ("open", "closed")]
