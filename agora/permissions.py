"""The one place that answers "may this user do this here?"."""

from agora.models import RoleAssignment, User


def _has_role(user, role: str, consultation_id: int | None = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    for assignment in user.roles:
        if getattr(assignment, "hearing_id", None) is not None:
            continue  # a role for one hearing grants nothing beyond that hearing
        if assignment.role == role and (
            assignment.consultation_id is None or assignment.consultation_id == consultation_id
        ):
            return True
    return False


def is_admin(user: User | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_admin)


def can_moderate(user: User | None, consultation_id: int | None = None) -> bool:
    """Global moderators moderate everywhere; scoped ones only their consultation."""
    return _has_role(user, "moderator", consultation_id)


def moderated_consultations(user: User | None) -> set[int] | None:
    """The consultations this user moderates: None for everywhere (the secretariat, global
    moderators), else the ids of their scoped moderator roles (an empty set: none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if user.is_admin:
        return None
    scoped = set()
    for assignment in user.roles:
        if assignment.role != "moderator" or getattr(assignment, "hearing_id", None) is not None:
            continue
        if assignment.consultation_id is None:
            return None
        scoped.add(assignment.consultation_id)
    return scoped


def can_moderate_anywhere(user: User | None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or any(a.role == "moderator" for a in user.roles)


def can_chair(user: User | None, consultation_id: int | None = None) -> bool:
    return _has_role(user, "chair", consultation_id)


def can_chair_hearing(user: User | None, hearing) -> bool:
    """Admins, chairs of the hearing's consultation (or everywhere), and the hearing's own chair."""
    if hearing is None:
        return False
    if can_chair(user, hearing.consultation_id):
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(a.role == "chair" and a.hearing_id == hearing.id for a in user.roles)


def can_facilitate(user: User | None, consultation_id: int | None = None) -> bool:
    return _has_role(user, "facilitator", consultation_id)


def scoped_consultations(user: User, role: str) -> set[int] | None:
    """Consultation ids where the user holds the role; None means everywhere."""
    if user.is_admin:
        return None
    ids: set[int] = set()
    for assignment in user.roles:
        if assignment.role == role and getattr(assignment, "hearing_id", None) is None:
            if assignment.consultation_id is None:
                return None
            ids.add(assignment.consultation_id)
    return ids


__all__ = [
    "RoleAssignment",
    "can_chair",
    "can_chair_hearing",
    "can_facilitate",
    "can_moderate",
    "can_moderate_anywhere",
    "is_admin",
    "scoped_consultations",
]
