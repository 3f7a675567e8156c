"""Socket.IO namespaces, one class per live area; thin: they call services and emit results."""


def register(app) -> None:
    """Hook for the live namespaces (hearings, moderators' queue)."""
    from agora.live import (
        consultations,  # noqa: F401  (registers the namespace)
        hearings,  # noqa: F401  (registers the /hearing namespace)
        moderation,  # noqa: F401  (registers the /moderation namespace)
    )
