"""Learning from moderators: their decisions as labels, a retrained model promoted only if nothing
regresses in any language, and what a moderator weighs a score by."""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from agora.extensions import db
from agora.models import ModelVersion, ModerationDecision, Submission
from agora.models._base import utcnow
from agora.services.moderation import screening

if TYPE_CHECKING:  # imported when retraining: the training code is heavy
    from moderation.train import RetrainResult


def training_labels() -> list[tuple[str, int]]:
    """Human decisions as labels: hidden/rejected for abuse → 1; approved/restored as within the rules → 0."""
    rows = db.session.execute(
        select(Submission.text, ModerationDecision.action, ModerationDecision.reason)
        .join(Submission, Submission.id == ModerationDecision.submission_id)
        .where(
            ModerationDecision.automatic.is_(False),
            ModerationDecision.action.in_(("approve", "hide", "reject", "restore", "keep")),
        )
        .order_by(ModerationDecision.id)
    ).all()
    labels: dict[str, int] = {}
    for text, action, reason in rows:
        if action in ("hide", "reject") and reason == "abuse":
            labels[text] = 1
        elif action in ("approve", "restore", "keep"):
            labels[text] = 0
    return list(labels.items())


def retrain(models_dir: str, progress: Callable[[str], None] = lambda message: None) -> "RetrainResult":
    """Retrain on base data + local decisions; promote only without regression."""
    from pathlib import Path

    from moderation.train import retrain as retrain_model

    labels = training_labels()
    progress(f"{len(labels)} labelled decisions from moderators ({sum(label for _, label in labels)} abusive).")
    current = db.session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    out = Path(models_dir) / f"model-{stamp}"
    result = retrain_model(labels, out, base_dir=current.path if current else None)
    metrics = {
        "before": result.before.__dict__,
        "after": result.after.__dict__,
        "reason": result.reason,
        "labels": len(labels),
    }
    if result.promoted:
        if current:
            current.active = False
        db.session.add(
            ModelVersion(version=result.version_after, path=str(out), metrics_json=json.dumps(metrics), active=True)
        )
        db.session.commit()
        screening.reset()
    return result


def active_model_version() -> str | None:
    return screening.model_version()


def reliability(language: str | None) -> dict | None:
    """How the active model does in this language on held-out data (its training report): what a
    moderator weighs a score by. None for a language it does not read (or none detected)."""
    model = screening.moderator()
    if model is None:
        return None
    figures = (model.meta.get("languages") or {}).get(language or "")
    if not figures:
        return None
    return {**figures, "hold": model.thresholds_for(language).hold, "few_examples": figures.get("n_abusive", 0) < 20}
