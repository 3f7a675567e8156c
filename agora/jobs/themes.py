"""Theme and opinion-group jobs: they take ids, run in a worker thread or process, never on the loop."""

from agora.extensions import db


def refit_consultation(consultation_id: int) -> None:
    """Recompute a consultation's themes, then its opinion groups (the views changed)."""
    from agora.services.analysis import opinions, themes

    themes.refit(consultation_id)
    opinions.refit(consultation_id)


def refit_hearing(hearing_id: int) -> None:
    """Recompute the themes of one hearing's messages."""
    from agora.models import Hearing
    from agora.services.analysis import themes

    hearing = db.session.get(Hearing, hearing_id)
    if hearing is not None:
        themes.refit(hearing.consultation_id, hearing.id)


def refit_opinions(consultation_id: int) -> None:
    """Recompute a consultation's opinion groups (the votes changed)."""
    from agora.services.analysis import opinions

    opinions.refit(consultation_id)


def interrupted(name: str, *args) -> None:
    """Called by the RQ worker when the process running one of these jobs died (SIGKILL, OOM):
    the run it claimed is marked failed at once, so the retry can start a new one (instead of
    waiting 30 minutes for the claim to go stale); the previous ready snapshot stays in use."""
    from sqlalchemy import select

    from agora.models import Hearing, ThemeSnapshot
    from agora.models._base import utcnow
    from agora.services.analysis.themes import _scope_filter

    if name == "refit_hearing":
        hearing = db.session.get(Hearing, args[0])
        if hearing is None:
            return
        scope, kinds = (hearing.consultation_id, hearing.id), ("themes",)
    elif name in ("refit_consultation", "refit_opinions"):
        scope, kinds = (args[0], None), ("themes", "opinions") if name == "refit_consultation" else ("opinions",)
    else:
        return
    rows = db.session.scalars(
        select(ThemeSnapshot).where(
            *_scope_filter(ThemeSnapshot, *scope), ThemeSnapshot.kind.in_(kinds), ThemeSnapshot.status == "running"
        )
    )
    for row in rows:
        row.status, row.error, row.finished_at = "failed", "interrupted: the worker process running it died", utcnow()
    db.session.commit()
