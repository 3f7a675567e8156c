"""Accounts: registration, sign-in, profiles, roles and personal API tokens."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from agora.extensions import db
from agora.models import ApiToken, RoleAssignment, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES, GENDERS, ROLES, UserSession
from agora.services import geography, throttle
from agora.services.errors import AgoraError, Conflict, Invalid, NotFound
from agora.services.sanitize import clean_line

MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Checked against even when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _normalise_email(email: object) -> str:
    try:
        checked = validate_email(str(email or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise Invalid("Please enter a valid email address.", field="email") from None
    return checked.normalized.lower()


def check_password_strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """Length, then zxcvbn: refuses common and breached-list passwords (its frequency lists
    include the most common leaked passwords) and ones built from the user's own name or email."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"Please choose a password of at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"Passwords are limited to {MAX_PASSWORD} characters.", field="password")
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=[i for i in user_inputs if i])
    if result["score"] < 3:
        warning = result["feedback"].get("warning") or "This password is too easy to guess."
        raise Invalid(f"{warning} Try a few unrelated words together.".strip(), field="password", code="weak_password")


def register(email: object, password: str, display_name: object) -> User:
    email = _normalise_email(email)
    name = clean_line(display_name, max_chars=80, field="display_name")
    check_password_strength(password, user_inputs=(email, name))
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("An account with this email already exists.", field="email")
    # Werkzeug's default is scrypt, a memory-hard hash.
    user = User(
        email=email, password_hash=generate_password_hash(password), display_name=name, password_changed_at=utcnow()
    )
    db.session.add(user)
    db.session.commit()
    return user


# Failed sign-ins are throttled per (account, address) and per address, never per account alone:
# a lock on the account would let anyone keep its owner out, and a lock only for known accounts
# would tell anyone which emails are registered. The counters live in the rate limiter's storage
# (memory, or Redis when scaled out), through the `limits` library Flask-Limiter uses.
FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
FAILURES_PER_ADDRESS = "30 per hour"  # many accounts tried from one address (password spraying)


class Throttled(AgoraError):
    status = 429
    code = "throttled"


def _failure_counters(email: str, client: str) -> list[tuple]:
    """(limit, identifiers) of the counters a failed sign-in adds to; the email as a hash."""
    from limits import parse

    account = hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]
    return [
        (parse(FAILURES_PER_ACCOUNT_AND_ADDRESS), ("signin-failures", account, client)),
        (parse(FAILURES_PER_ADDRESS), ("signin-failures-address", client)),
    ]


def authenticate(email: object, password: str | None, *, client: str = "") -> User | None:
    """The user if the password is right; None otherwise, the same for unknown and known emails.

    :raise Throttled: after too many failures for this email from this address (or from this
        address at all), whether or not the account exists and whatever the password; the owner
        signing in from elsewhere is not affected."""
    normalised = None
    try:
        normalised = _normalise_email(email)
    except Invalid:
        pass
    counters = _failure_counters(normalised or str(email or "")[:254].lower(), client or "-")
    if not throttle.allowed(counters):
        check_password_hash(_DUMMY_HASH, password or "")  # the same work as any other answer
        raise Throttled("Too many failed sign-ins from this connection. Please wait 15 minutes and try again.")
    user = None
    if normalised is not None:
        user = db.session.scalar(select(User).where(User.email == normalised, User.deleted_at.is_(None)))
    if user is not None and user.password_hash and check_password_hash(user.password_hash, password or ""):
        throttle.clear(*counters[0])  # this address may try this account afresh
        return user
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")  # unknown emails take as long as known ones
    throttle.spend(counters)
    return None


def change_password(user: User, current: str, new: str) -> User:
    if not check_password_hash(user.password_hash or _DUMMY_HASH, current or ""):
        raise Invalid("The current password is not right.", field="current_password")
    check_password_strength(new, user_inputs=(user.email or "", user.display_name))
    user.password_hash = generate_password_hash(new)
    user.password_changed_at = utcnow()
    user.session_version = (user.session_version or 0) + 1  # every other session ends
    _end_all_sessions(user)
    db.session.commit()
    return user


def sign_out_everywhere(user: User) -> None:
    """Invalidate every session and remember-me cookie of this user (they carry the version)."""
    user.session_version = (user.session_version or 0) + 1
    _end_all_sessions(user)
    db.session.commit()


# --- sessions: each signed-in browser has a row; signing out deletes it ---------------------

SESSION_MAX_AGE = timedelta(days=30)  # a sign-in lasts at most this long, however active


def start_session(user: User) -> str:
    """Record a new signed-in session; the user's get_id() (what Flask-Login puts in the session
    and remember-me cookies) now carries its random id, of which only a hash is stored."""
    sid = secrets.token_urlsafe(24)
    db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.created_at < utcnow() - SESSION_MAX_AGE)
    )
    db.session.add(UserSession(id_hash=_hash_token(sid), user_id=user.id))
    db.session.commit()
    user.session_id = sid
    return sid


def end_session(token: str | None) -> None:
    """Sign-out: the session named by Flask-Login's token no longer exists, so a copy of its
    session or remember-me cookie signs nobody in."""
    parts = str(token or "").split(":")
    if len(parts) == 3 and parts[2]:
        db.session.execute(delete(UserSession).where(UserSession.id_hash == _hash_token(parts[2])))
        db.session.commit()


def _end_all_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def session_token(user: User) -> str:
    """The id and the session version, without a session id: what the two-factor step keeps
    between the password and the code (no session exists yet)."""
    return f"{user.id}:{user.session_version or 0}"


def _account(user: User | None, version: str) -> User | None:
    if user is None or user.kind != "account" or user.deleted_at is not None:
        return None
    return user if (user.session_version or 0) == int(version) else None


def user_for_pending(token: str) -> User | None:
    """The user a two-factor step is for (its token from session_token), if still valid."""
    user_id, _, version = str(token).partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return _account(db.session.get(User, int(user_id)), version)


_SESSION_USER = (
    select(User)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        UserSession.id_hash == bindparam("id_hash"),
        UserSession.created_at >= bindparam("since"),
    )
)


def user_for_session(token: str) -> User | None:
    """Flask-Login's user loader: the user if the session still exists (not signed out, not past
    SESSION_MAX_AGE) and carries the user's current session version."""
    user_id, version, sid = (str(token).split(":") + ["", ""])[:3]
    if not user_id.isdigit() or not version.isdigit() or not sid or len(sid) > 64:
        return None
    user = db.session.scalar(
        _SESSION_USER, {"user_id": int(user_id), "id_hash": _hash_token(sid), "since": utcnow() - SESSION_MAX_AGE}
    )
    user = _account(user, version)
    if user is not None:
        user.session_id = sid
    return user


# --- two-factor authentication (TOTP) for moderators, chairs and admins ------------------


def totp_provisioning(user: User, secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=user.email or str(user.id), issuer_name="Agora")


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def enable_totp(user: User, secret: str, code: str) -> None:
    if not verify_totp_code(secret, code):
        raise Invalid("That code is not right; check the time on your phone and try the next code.", field="code")
    user.totp_secret = secret
    user.session_version = (user.session_version or 0) + 1
    _end_all_sessions(user)
    db.session.commit()


def disable_totp(user: User, code: str) -> None:
    if not user.totp_secret or not verify_totp_code(user.totp_secret, code):
        raise Invalid("That code is not right.", field="code")
    user.totp_secret = None
    db.session.commit()


def verify_totp_code(secret: str, code: object) -> bool:
    import pyotp

    code = "".join(ch for ch in str(code or "") if ch.isdigit())
    return len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


# --- privacy: export and deletion --------------------------------------------------------


def export_data(user: User) -> dict:
    """Everything we hold about the user, as JSON-able data."""
    from agora.models import Flag, Submission, Vote

    submissions = db.session.scalars(
        select(Submission).where(Submission.author_id == user.id).order_by(Submission.id)
    ).all()
    votes = db.session.execute(
        select(Vote.submission_id, Vote.value, Vote.created_at).where(Vote.user_id == user.id).order_by(Vote.id)
    ).all()
    flags = db.session.scalars(select(Flag).where(Flag.user_id == user.id)).all()
    iso = lambda d: d.isoformat() + "Z" if d else None  # noqa: E731
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "created_at": iso(user.created_at),
            "constituency": user.constituency,
            "country": user.country,
            "gender": user.gender,
            "languages": user.languages,
            "locale": user.locale,
            "show_constituency": user.show_constituency,
            "two_factor": bool(user.totp_secret),
            "roles": [
                {"role": r.role, "consultation_id": r.consultation_id, "hearing_id": r.hearing_id} for r in user.roles
            ],
        },
        "submissions": [
            {
                "id": s.id,
                "consultation_id": s.consultation_id,
                "hearing_id": s.hearing_id,
                "text": s.text,
                "state": s.state,
                "channel": s.channel,
                "created_at": iso(s.created_at),
                "constituency": s.constituency,
                "country": s.country,
                "gender": s.gender,
            }
            for s in submissions
        ],
        "votes": [
            {"submission_id": sid, "vote": {1: "agree", -1: "disagree", 0: "pass"}[v], "at": iso(at)}
            for sid, v, at in votes
        ],
        "reports_of_views": [
            {"submission_id": f.submission_id, "reason": f.reason, "at": iso(f.created_at)} for f in flags
        ],
        "api_tokens": [{"name": t.name, "created_at": iso(t.created_at)} for t in tokens_of(user)],
        "note": "IP addresses are not stored; rate limits keep counters for at most a day.",
    }


def delete_account(user: User, password: str) -> None:
    """Delete the account; its submissions stay (in counts, themes and reports) without an author.

    The user row is kept only as an empty, anonymous shell so that votes still count once and
    the moderation record stays consistent; email, password, name and profile are erased.
    """
    from agora.models import ApiToken, OutgoingEmail, Submission
    from agora.services.accounts import notifications

    if not check_password_hash(user.password_hash or _DUMMY_HASH, password or ""):
        raise Invalid("The password is not right.", field="password")
    # nothing more is emailed, and the outbox keeps no address nor what was written to them
    notifications.drop_waiting_emails(user.id, reason="the account was deleted")
    db.session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.user_id == user.id)
        .values(to_address="", subject="", text_body="", html_body="", unsubscribe_url=None)
    )
    db.session.execute(Submission.__table__.update().where(Submission.author_id == user.id).values(author_id=None))
    db.session.execute(ApiToken.__table__.delete().where(ApiToken.user_id == user.id))
    for assignment in list(user.roles):
        db.session.delete(assignment)
    user.email = None
    user.password_hash = None
    user.display_name = "Deleted participant"
    user.constituency = user.country = user.gender = user.languages = user.locale = None
    user.totp_secret = None
    user.is_admin = False
    user.kind = "deleted"
    user.deleted_at = utcnow()
    user.session_version = (user.session_version or 0) + 1
    _end_all_sessions(user)
    db.session.commit()


@dataclass(frozen=True)
class Profile:
    display_name: str
    constituency: str | None
    country: str | None
    gender: str | None
    languages: str | None
    locale: str | None
    show_constituency: bool = False  # shown next to the name on their views only if they choose


def update_profile(user: User, profile: Profile) -> User:
    """Self-declared and optional; validated against the published lists."""
    name = clean_line(profile.display_name, max_chars=80, field="display_name")
    if profile.constituency and profile.constituency not in CONSTITUENCIES:
        raise Invalid("Unknown constituency.", field="constituency")
    if profile.gender and profile.gender not in GENDERS:
        raise Invalid("Unknown gender option.", field="gender")
    if profile.country and geography.country(profile.country) is None:
        raise Invalid("Unknown country code (ISO 3166-1 alpha-2 expected).", field="country")
    languages = None
    if profile.languages:
        codes = [c.strip().lower() for c in profile.languages.replace(";", ",").split(",")]
        codes = [c for c in codes if c]
        if any(not c.isalpha() or not 2 <= len(c) <= 3 for c in codes):
            raise Invalid("Languages are ISO 639 codes separated by commas, e.g. en, fr.", field="languages")
        languages = ",".join(dict.fromkeys(codes))
    user.display_name = name
    user.constituency = profile.constituency or None
    user.country = profile.country.upper() if profile.country else None
    user.gender = profile.gender or None
    user.languages = languages
    user.locale = profile.locale or None
    user.show_constituency = bool(profile.show_constituency)
    db.session.commit()
    return user


def remember_locale(user: User, locale: str) -> None:
    """The interface language a signed-in person picked in the header becomes their preference
    (their emails are written in it); choosing the one they already have writes nothing."""
    if user.locale != locale:
        user.locale = locale
        db.session.commit()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == _normalise_email(email)))
    if user is None:
        raise NotFound("No account has this email address.", field="email")
    return user


def assign_role(user: User, role: str, consultation_id: int | None, granted_by: User | None) -> RoleAssignment | None:
    if role not in ROLES:
        raise Invalid(f"Unknown role; choose one of {', '.join(ROLES)}.", field="role")
    if role == "admin":
        user.is_admin = True
        db.session.commit()
        return None
    existing = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role,
            RoleAssignment.consultation_id.is_(None)
            if consultation_id is None
            else RoleAssignment.consultation_id == consultation_id,
        )
    )
    if existing:
        return existing
    assignment = RoleAssignment(
        user_id=user.id,
        role=role,
        consultation_id=consultation_id,
        granted_by_id=granted_by.id if granted_by else None,
    )
    db.session.add(assignment)
    db.session.commit()
    db.session.refresh(user)
    return assignment


def role_assignments() -> list[RoleAssignment]:
    return list(db.session.scalars(select(RoleAssignment).order_by(RoleAssignment.created_at.desc())))


def revoke_role(assignment_id: int) -> None:
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFound("No such role assignment.")
    db.session.delete(assignment)
    db.session.commit()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: object) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is shown once and never stored."""
    label = clean_line(name or "API token", max_chars=80, field="name")
    secret = "agora_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=label, token_hash=_hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# Every API call runs this: built once, since building and cache-keying a statement costs more than
# running it. The user comes in the same query (every API call needs it) with the token's two columns
# this needs, not the token object: loading a second object would cost more than the query.
_LIVE_TOKEN_USER = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_token(secret: str) -> User | None:
    if not secret or len(secret) > 200:
        return None
    found = db.session.execute(_LIVE_TOKEN_USER, {"token_hash": _hash_token(secret)}).first()
    if found is None:
        return None
    user, token_id, last_used_at = found
    now = utcnow()
    # "Last used" to the minute: writing it on every call would add a write transaction to each
    # API request (and, on SQLite, a turn at the one write lock).
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )
