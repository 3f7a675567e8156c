"""Organisations, networks that federate them, accreditation against published criteria with a
public log, submissions on behalf of an organisation, and networks' joint statements endorsed by
their members. Aggregating views through networks is encouraged, never required.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agora import permissions
from agora.extensions import db
from agora.i18n import N_
from agora.models import (
    Accreditation,
    AccreditationDecision,
    Consultation,
    Endorsement,
    NetworkMember,
    Organisation,
    OrganisationMember,
    Submission,
    User,
)
from agora.models.user import CONSTITUENCIES
from agora.services import geography
from agora.services.accounts import accounts
from agora.services.errors import Conflict, Forbidden, Invalid, NotFound
from agora.services.participation import submissions
from agora.services.sanitize import clean_line, clean_text

# Published criteria (shown at /organisations/accreditation-criteria); a decision cites those it rests on.
CRITERIA = {
    "works_on_issue": N_("Works on the issue under consultation, or represents people affected by it."),
    "legal_or_recognised": N_(
        "Is a legal entity, or a community group recognised by its members or by a local or traditional authority."
    ),
    "discloses_funding": N_("Discloses its main sources of funding (on its website or in its request)."),
    "accountable": N_(
        "Is accountable to its members or constituency (a governing body, a mandate, published decisions)."
    ),
    "code_of_conduct": N_("Accepts the code of conduct of the consultation."),
}
DECISIONS = {"accredit": "accredited", "refuse": "refused", "withdraw": "withdrawn"}


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    constituency: str
    country: str | None = None
    website: str | None = None
    description: str = ""
    is_network: bool = False


def name_key(name: str) -> str:
    """Case-, accent-width- and space-folded, so "Red  Cross" and "red cross" are the same name."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())[:200]


def _website(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or "." not in parts.netloc or len(value) > 300:
        raise Invalid("Please give the website as an address like https://example.org.", field="website")
    return value


def register(user: User, data: OrganisationInput) -> Organisation:
    """Register an organisation (or network); the registering user becomes its admin member."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Please sign in to register an organisation.")
    name = clean_line(data.name, max_chars=200, field="name")
    key = name_key(name)
    if len(key) < 2:
        raise Invalid("Please give the organisation's full name.", field="name")
    if data.constituency not in CONSTITUENCIES or data.constituency == "individual":
        raise Invalid("Please choose the organisation's constituency.", field="constituency")
    country = None
    if data.country:
        found = geography.country(data.country)
        if found is None:
            raise Invalid("Unknown country.", field="country")
        country = found.code
    description = (
        clean_text(data.description, max_chars=2000, field="description") if (data.description or "").strip() else ""
    )
    if db.session.scalar(select(Organisation.id).where(Organisation.name_key == key)):
        raise Conflict(
            "An organisation with this name is already registered; ask its admin to add you as a member.", field="name"
        )
    organisation = Organisation(
        name=name,
        name_key=key,
        constituency=data.constituency,
        country=country,
        website=_website(data.website),
        description=description,
        is_network=bool(data.is_network),
        created_by_id=user.id,
    )
    db.session.add(organisation)
    try:
        db.session.flush()
        db.session.add(OrganisationMember(organisation_id=organisation.id, user_id=user.id, role="admin"))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "An organisation with this name is already registered; ask its admin to add you as a member.", field="name"
        ) from None
    return organisation


def get(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("There is no organisation with this number.")
    return organisation


def public_list() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name_key)))


def membership(user: User | None, organisation_id: int) -> OrganisationMember | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user.id
        )
    )


def is_org_admin(user: User | None, organisation_id: int) -> bool:
    member = membership(user, organisation_id)
    return member is not None and member.role == "admin"


def require_org_admin(user: User | None, organisation_id: int) -> None:
    """Refuse (403) anyone but an admin of the organisation; adapters call it before parsing input."""
    _require_org_admin(user, organisation_id)


def _require_org_admin(user: User | None, organisation_id: int) -> None:
    if not is_org_admin(user, organisation_id):
        raise Forbidden("Only an admin of this organisation may do this.")


def organisations_of(user: User | None, *, admin_only: bool = False) -> list[Organisation]:
    """The organisations the user is a member (or an admin) of, by name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    query = (
        select(Organisation)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(OrganisationMember.user_id == user.id)
    )
    if admin_only:
        query = query.where(OrganisationMember.role == "admin")
    return list(db.session.scalars(query.order_by(Organisation.name_key)))


def members(organisation_id: int) -> list[OrganisationMember]:
    return list(
        db.session.scalars(
            select(OrganisationMember)
            .where(OrganisationMember.organisation_id == organisation_id)
            .order_by(OrganisationMember.id)
        )
    )


def add_member(organisation_id: int, actor: User, email: str, role: str = "member") -> OrganisationMember:
    """An organisation's admin adds an existing account as a member (or admin)."""
    get(organisation_id)
    _require_org_admin(actor, organisation_id)
    if role not in ("member", "admin"):
        raise Invalid("A member's role is member or admin.", field="role")
    user = accounts.find_user_by_email(email)
    if membership(user, organisation_id) is not None:
        raise Conflict("This person is already a member.", field="email")
    member = OrganisationMember(organisation_id=organisation_id, user_id=user.id, role=role)
    db.session.add(member)
    db.session.commit()
    return member


# Networks ------------------------------------------------------------------------------------


def join_network(network_id: int, organisation_id: int, actor: User) -> NetworkMember:
    """An organisation's admin federates it in a network (aggregation is the organisation's choice)."""
    network, organisation = get(network_id), get(organisation_id)
    _require_org_admin(actor, organisation.id)
    if not network.is_network:
        raise Invalid("This organisation is not a network.", field="network_id")
    if network.id == organisation.id:
        raise Invalid("A network cannot be its own member.", field="network_id")
    if db.session.scalar(
        select(NetworkMember.id).where(
            NetworkMember.network_id == network.id, NetworkMember.organisation_id == organisation.id
        )
    ):
        raise Conflict("This organisation is already a member of the network.", field="network_id")
    link = NetworkMember(network_id=network.id, organisation_id=organisation.id)
    db.session.add(link)
    db.session.commit()
    return link


def network_members(network_id: int) -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation)
            .join(NetworkMember, NetworkMember.organisation_id == Organisation.id)
            .where(NetworkMember.network_id == network_id)
            .order_by(Organisation.name_key)
        )
    )


def networks_of(organisation_id: int) -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation)
            .join(NetworkMember, NetworkMember.network_id == Organisation.id)
            .where(NetworkMember.organisation_id == organisation_id)
            .order_by(Organisation.name_key)
        )
    )


def networks() -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation).where(Organisation.is_network.is_(True)).order_by(Organisation.name_key)
        )
    )


# Submitting on behalf --------------------------------------------------------------------------


def check_can_speak_for(user: User | None, organisation_id: int | None) -> Organisation | None:
    """None for a personal view; the organisation if the user is one of its members; else Forbidden."""
    if organisation_id is None:
        return None
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or membership(user, organisation_id) is None:
        raise Forbidden(
            "You can only submit on behalf of an organisation you are a member of.", field="organisation_id"
        )
    return organisation


def submit_on_behalf(
    consultation_id: int, user: User, text: object, organisation_id: int | None, **kwargs: Any
) -> tuple[Submission, bool]:
    """submissions.submit, attributed to an organisation the author belongs to."""
    check_can_speak_for(user, organisation_id)
    return submissions.submit(consultation_id, user, text, organisation_id=organisation_id, **kwargs)


def publish_joint_statement(
    network_id: int, consultation_id: int, actor: User, text: object, *, max_chars: int = submissions.MAX_CHARS_DEFAULT
) -> Submission:
    """A network's admin publishes a joint statement (moderated like any view) for members to endorse."""
    network = get(network_id)
    if not network.is_network:
        raise Invalid("Only a network can publish a joint statement.", field="network_id")
    _require_org_admin(actor, network.id)
    submission, _created = submissions.submit(
        consultation_id, actor, text, kind="joint_statement", organisation_id=network.id, max_chars=max_chars
    )
    return submission


def _statement(submission_id: int, viewer: User | None = None) -> Submission:
    statement = db.session.get(Submission, submission_id)
    if (
        statement is None
        or statement.kind != "joint_statement"
        or (statement.state != "published" and (viewer is None or statement.author_id != getattr(viewer, "id", None)))
    ):
        raise NotFound("There is no published joint statement with this number.")
    return statement


def get_statement(submission_id: int, viewer: User | None = None) -> Submission:
    return _statement(submission_id, viewer)


def endorse(submission_id: int, organisation_id: int, actor: User) -> Endorsement:
    """A member organisation of the network endorses the network's joint statement (once)."""
    statement = _statement(submission_id)
    if statement.state != "published":
        raise Conflict("Only a published joint statement can be endorsed.")
    organisation = get(organisation_id)
    _require_org_admin(actor, organisation.id)
    if not db.session.scalar(
        select(NetworkMember.id).where(
            NetworkMember.network_id == statement.organisation_id, NetworkMember.organisation_id == organisation.id
        )
    ):
        raise Forbidden(
            "Only member organisations of the network can endorse its joint statement.", field="organisation_id"
        )
    consultation = db.session.get(Consultation, statement.consultation_id)
    if consultation is None or not consultation.is_open:
        raise Conflict("This consultation is closed: statements can no longer be endorsed.", code="closed")
    endorsement = Endorsement(submission_id=statement.id, organisation_id=organisation.id, endorsed_by_id=actor.id)
    db.session.add(endorsement)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This organisation has already endorsed the statement.", field="organisation_id") from None
    return endorsement


@dataclass(frozen=True)
class EndorsementSummary:
    count: int
    by_constituency: dict[str, int]
    organisations: list[Organisation]


def endorsements(submission_ids: list[int]) -> dict[int, EndorsementSummary]:
    """For each joint statement: how many organisations endorsed it, by constituency, and which."""
    if not submission_ids:
        return {}
    rows = db.session.execute(
        select(Endorsement.submission_id, Organisation)
        .join(Organisation, Organisation.id == Endorsement.organisation_id)
        .where(Endorsement.submission_id.in_(submission_ids))
        .order_by(Organisation.name_key)
    ).all()
    found: dict[int, list[Organisation]] = {}
    for submission_id, organisation in rows:
        found.setdefault(submission_id, []).append(organisation)
    summaries = {}
    for submission_id, orgs in found.items():
        by_constituency: dict[str, int] = {}
        for org in orgs:
            by_constituency[org.constituency] = by_constituency.get(org.constituency, 0) + 1
        summaries[submission_id] = EndorsementSummary(
            len(orgs), dict(sorted(by_constituency.items(), key=lambda kv: (-kv[1], kv[0]))), orgs
        )
    return summaries


def statements_of(network_id: int) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.organisation_id == network_id,
                Submission.kind == "joint_statement",
                Submission.state == "published",
            )
            .order_by(Submission.created_at.desc())
        )
    )


def for_submissions(items: Iterable[Submission]) -> dict[int, Organisation]:
    """The organisations named on a page of submissions, by id (one query)."""
    ids = {s.organisation_id for s in items if s.organisation_id}
    if not ids:
        return {}
    return {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def accredited_ids(consultation_id: int, organisation_ids: Iterable[int]) -> set[int]:
    ids = set(organisation_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Accreditation.organisation_id).where(
                Accreditation.consultation_id == consultation_id,
                Accreditation.organisation_id.in_(ids),
                Accreditation.state == "accredited",
            )
        )
    )


# Accreditation ---------------------------------------------------------------------------------


def request_accreditation(organisation_id: int, consultation_id: int, actor: User, motivation: object) -> Accreditation:
    """An organisation's admin asks to be accredited to a consultation, saying why."""
    organisation = get(organisation_id)
    _require_org_admin(actor, organisation.id)
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.status == "draft":
        raise NotFound("There is no consultation with this number.")
    if consultation.status in ("closed", "reported"):
        raise Conflict("This consultation is closed.", code="closed")
    text = clean_text(motivation, max_chars=3000, field="motivation")
    existing = db.session.scalar(
        select(Accreditation).where(
            Accreditation.organisation_id == organisation.id, Accreditation.consultation_id == consultation.id
        )
    )
    if existing is not None:
        if existing.state in ("requested", "accredited"):
            raise Conflict(
                "This organisation is already accredited to this consultation."
                if existing.state == "accredited"
                else "A request is already waiting for the secretariat's decision.",
                field="consultation_id",
            )
        existing.state, existing.motivation, existing.requested_by_id = (
            "requested",
            text,
            actor.id,
        )  # asking again after a refusal
        db.session.commit()
        return existing
    accreditation = Accreditation(
        organisation_id=organisation.id, consultation_id=consultation.id, motivation=text, requested_by_id=actor.id
    )
    db.session.add(accreditation)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "A request is already waiting for the secretariat's decision.", field="consultation_id"
        ) from None
    return accreditation


def pending_requests() -> list[Accreditation]:
    return list(
        db.session.scalars(
            select(Accreditation).where(Accreditation.state == "requested").order_by(Accreditation.created_at)
        )
    )


def accreditations_of(organisation_id: int) -> list[Accreditation]:
    return list(
        db.session.scalars(
            select(Accreditation)
            .where(Accreditation.organisation_id == organisation_id)
            .order_by(Accreditation.created_at.desc())
        )
    )


def decide(
    accreditation_id: int, actor: User, decision: str, criteria: list[str], reason: object
) -> AccreditationDecision:
    """The secretariat accredits, refuses or withdraws, citing the published criteria and a reason."""
    if not permissions.is_admin(actor):
        raise Forbidden("Only the secretariat decides on accreditation.")
    accreditation = db.session.get(Accreditation, accreditation_id)
    if accreditation is None:
        raise NotFound("There is no accreditation request with this number.")
    if decision not in DECISIONS:
        raise Invalid("A decision is accredit, refuse or withdraw.", field="decision")
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown:
        raise Invalid(f"Unknown criteria: {', '.join(unknown)}.", field="criteria")
    if not criteria:
        raise Invalid(
            "Cite the published criteria the decision rests on (met, for an accreditation; not met, for a refusal).",
            field="criteria",
        )
    if decision == "withdraw" and accreditation.state != "accredited":
        raise Conflict("Only an accreditation in force can be withdrawn.")
    if decision != "withdraw" and accreditation.state != "requested":
        raise Conflict(f"This request was already decided ({accreditation.state}).")
    text = clean_text(reason, max_chars=2000, field="reason")
    accreditation.state = DECISIONS[decision]
    entry = AccreditationDecision(
        accreditation_id=accreditation.id,
        decision=DECISIONS[decision],
        criteria=",".join(sorted(set(criteria), key=list(CRITERIA).index))[:200],
        reason=text,
        decided_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


@dataclass(frozen=True)
class LogEntry:
    id: int
    created_at: object
    organisation: Organisation
    consultation_title: str
    consultation_slug: str
    decision: str
    criteria: list[str]
    reason: str


def accreditation_log(limit: int = 500) -> list[LogEntry]:
    """Every accreditation decision, newest first: public."""
    rows = db.session.execute(
        select(AccreditationDecision, Organisation, Consultation.title, Consultation.slug)
        .join(Accreditation, Accreditation.id == AccreditationDecision.accreditation_id)
        .join(Organisation, Organisation.id == Accreditation.organisation_id)
        .join(Consultation, Consultation.id == Accreditation.consultation_id)
        .order_by(AccreditationDecision.created_at.desc(), AccreditationDecision.id.desc())
        .limit(limit)
    ).all()
    return [
        LogEntry(d.id, d.created_at, org, title, slug, d.decision, [c for c in d.criteria.split(",") if c], d.reason)
        for d, org, title, slug in rows
    ]


def count_members(organisation_ids: Iterable[int]) -> dict[int, int]:
    ids = list(organisation_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(OrganisationMember.organisation_id, func.count())
            .where(OrganisationMember.organisation_id.in_(ids))
            .group_by(OrganisationMember.organisation_id)
        ).all()
    )
