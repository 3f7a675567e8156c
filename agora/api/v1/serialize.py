"""Models to JSON for API v1. Authors are shown by display name only; profiles stay private
unless the author chose to show their constituency with their views."""

from agora.services.participation.submissions import shown_profile
from agora.services.sanitize import render_text


def _iso(value):
    return value.isoformat() + "Z" if value else None


def consultation_json(consultation, counts, full: bool = False) -> dict:
    data = {
        "id": consultation.id,
        "slug": consultation.slug,
        "title": consultation.title,
        "summary": consultation.summary,
        "stage": consultation.stage,
        "status": consultation.status,
        "forum": consultation.forum,
        "languages": [code for code in consultation.languages.split(",") if code],
        "opens_at": _iso(consultation.opens_at),
        "closes_at": _iso(consultation.closes_at),
        "counts": {
            "submissions": counts.views,  # the views GET /consultations/{id}/submissions lists
            "participants": counts.participants,
            "votes": counts.votes,
        },
    }
    if full:
        data["briefing_html"] = consultation.briefing_html
        data["attribution"] = consultation.attribution
    return data


def submission_json(submission, include_state: bool = False) -> dict:
    data = {
        "id": submission.id,
        "consultation_id": submission.consultation_id,
        "text": submission.text,
        "html": str(render_text(submission.text)),
        "language": submission.language,
        "channel": submission.channel,
        "author": submission.author.display_name if submission.author and submission.author.kind == "account" else None,
        # profiles are used in aggregate only: shown next to the author only if they chose so
        "constituency": shown_profile(submission)[0],
        "region": shown_profile(submission)[1],
        "created_at": _iso(submission.created_at),
        "votes": {
            "agree": submission.agree_count,
            "disagree": submission.disagree_count,
            "pass": submission.pass_count,
        },
    }
    if include_state:
        data["state"] = submission.state
    return data
