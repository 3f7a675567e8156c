"""SQLAlchemy models, one module per domain; importing this package registers them all."""

from agora.models.consultation import Consultation
from agora.models.hearing import Hearing, SpeakerRequest
from agora.models.moderation import Appeal, Flag, ModelVersion, ModerationDecision
from agora.models.notification import Notification, NotificationPreference, NotificationSettings, OutgoingEmail
from agora.models.organisation import (
    Accreditation,
    AccreditationDecision,
    ConsultationTranslation,
    Endorsement,
    ImportBatch,
    NetworkMember,
    Organisation,
    OrganisationMember,
)
from agora.models.report import Forum, ForumResponse, Report, Transmission
from agora.models.submission import IdempotencyRecord, Submission, SubmissionVector, Vote
from agora.models.themes import ThemeSnapshot
from agora.models.user import ApiToken, RoleAssignment, User

__all__ = [
    "Accreditation",
    "AccreditationDecision",
    "ConsultationTranslation",
    "Endorsement",
    "ImportBatch",
    "NetworkMember",
    "Organisation",
    "OrganisationMember",
    "ApiToken",
    "Appeal",
    "Consultation",
    "Flag",
    "Forum",
    "ForumResponse",
    "Hearing",
    "Notification",
    "NotificationPreference",
    "NotificationSettings",
    "OutgoingEmail",
    "IdempotencyRecord",
    "ModelVersion",
    "ModerationDecision",
    "Report",
    "RoleAssignment",
    "SpeakerRequest",
    "Submission",
    "SubmissionVector",
    "ThemeSnapshot",
    "Transmission",
    "User",
    "Vote",
]
