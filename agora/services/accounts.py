"""Accounts: registration, sign-in, profiles, roles and personal API tokens."""
import hashlib
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from agora.extensions import db
from agora.models import ApiToken, RoleAssignment, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES, GENDERS, ROLES
from agora.services import geography
from agora.services.errors import Conflict, Invalid, NotFound
from agora.services.sanitize import clean_line

MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Checked against even when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _normalise_email(email) -> str:
    try:
        checked = validate_email(str(email or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise Invalid("Please enter a valid email address.", field="email") from None
    return checked.normalized.lower()


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(
            f"Please choose a password of at least {MIN_PASSWORD} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"Passwords are limited to {MAX_PASSWORD} characters.", field="password")
    if len(set(password)) < 4:
        raise Invalid("This password is too easy to guess.", field="password")


def register(email, password, display_name) -> User:
    email = _normalise_email(email)
    check_password_strength(password)
    name = clean_line(display_name, max_chars=80, field="display_name")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("An account with this email already exists.", field="email")
    # Werkzeug's default is scrypt, a memory-hard hash.
    user = User(email=email, password_hash=generate_password_hash(password), display_name=name)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email, password) -> User | None:
    try:
        email = _normalise_email(email)
    except Invalid:
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


@dataclass(frozen=True)
class Profile:
    display_name: str
    constituency: str | None
    country: str | None
    gender: str | None
    languages: str | None
    locale: str | None


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
    db.session.commit()
    return user


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


def assign_role(user: User, role: str, consultation_id: int | None, granted_by: User | None) -> RoleAssignment:
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


def create_token(user: User, name) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is shown once and never stored."""
    label = clean_line(name or "API token", max_chars=80, field="name")
    secret = "agora_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=label, token_hash=_hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def user_for_token(secret: str) -> User | None:
    if not secret or len(secret) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(secret), ApiToken.revoked_at.is_(None))
    )
    if token is None:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return token.user


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )
