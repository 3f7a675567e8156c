"""SQLAlchemy models, one module per domain; importing this package registers them all."""
from agora.models.user import ApiToken, RoleAssignment, User
from agora.models.consultation import Consultation
from agora.models.submission import IdempotencyRecord, Submission, Vote
from agora.models.moderation import ModerationDecision

__all__ = [
    "ApiToken",
    "Consultation",
    "IdempotencyRecord",
    "ModerationDecision",
    "RoleAssignment",
    "Submission",
    "User",
    "Vote",
]
