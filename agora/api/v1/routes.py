"""API v1 routes: thin parsers around services."""

import json

from flask import current_app, g, request, url_for

from agora.api.v1.blueprint import bp, require_user
from agora.api.v1.openapi import spec
from agora.api.v1.serialize import consultation_json, submission_json
from agora.extensions import limiter
from agora.services.errors import AgoraError, Invalid
from agora.services.participation import consultations, search, submissions
from agora.services.sanitize import refuse_invalid_unicode
from agora.web.ratelimits import SUBMIT_LIMIT, VIEWS_SCOPE, VOTE_LIMIT, VOTES_SCOPE, user_or_ip


class BadJson(AgoraError):
    status = 400
    code = "malformed_json"


def json_body(allowed: set[str], required: set[str]) -> dict:
    """Parse a JSON object body, refusing unknown and missing fields by name."""
    if not request.mimetype or request.mimetype != "application/json":
        raise Invalid("Send the body as JSON with Content-Type: application/json.", code="content_type")
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadJson("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.", code="not_an_object")
    refuse_invalid_unicode(body)  # "\ud800" is valid JSON but not text: 422 here, never a failed batch later
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.", code="unknown_field", field=unknown[0])
    missing = sorted(required - set(body))
    if missing:
        raise Invalid(f"Missing field(s): {', '.join(missing)}.", code="missing_field", field=missing[0])
    return body


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"'{name}' must be a whole number.", field=name) from None
    if not low <= value <= high:
        raise Invalid(f"'{name}' must be between {low} and {high}.", field=name)
    return value


@bp.get("/openapi.json")
def openapi():
    return spec(url_for("api_v1.openapi", _external=False).rsplit("/", 1)[0])


@bp.get("/consultations")
def list_consultations():
    for name in ("status", "stage"):
        if name in request.args and not request.args[name]:
            raise Invalid(f"'{name}' is empty: leave it out to list everything.", field=name)
    found = consultations.public_list(status=request.args.get("status"), stage=request.args.get("stage"))
    counts = consultations.counts([c.id for c in found])
    return {"items": [consultation_json(c, counts[c.id]) for c in found]}


def _public_consultation(consultation_id: int):
    consultation = consultations.get(consultation_id)
    if consultation.status == "draft":
        raise consultations.NotFound("There is no consultation with this number.")
    return consultation


@bp.get("/consultations/<int:consultation_id>")
def get_consultation(consultation_id):
    consultation = _public_consultation(consultation_id)
    counts = consultations.counts([consultation.id])[consultation.id]
    return consultation_json(consultation, counts, full=True)


@bp.get("/consultations/<int:consultation_id>/submissions")
def list_submissions(consultation_id):
    consultation = _public_consultation(consultation_id)
    if "q" in request.args:  # by meaning and words, best first
        page = search.search(
            consultation.id,
            request.args["q"],
            page=int_arg("page", 1, 1, 1_000_000),
            per_page=int_arg("per_page", 20, 1, 100),
        )
    else:
        page = submissions.list_published(
            consultation.id,
            sort=request.args.get("sort", "newest"),
            page=int_arg("page", 1, 1, 1_000_000),
            per_page=int_arg("per_page", 20, 1, 100),
            language=request.args.get("language") or None,
            constituency=request.args.get("constituency") or None,
        )
    return {
        "items": [submission_json(s) for s in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@bp.post("/consultations/<int:consultation_id>/submissions")
@limiter.shared_limit(SUBMIT_LIMIT, scope=VIEWS_SCOPE, key_func=user_or_ip)
def create_submission(consultation_id):
    user = require_user()
    body = json_body({"text"}, {"text"})
    submission, created = submissions.submit(
        consultation_id,
        user,
        body["text"],
        channel="api",
        max_chars=current_app.config["SUBMISSION_MAX_CHARS"],
        idempotency_key=request.headers.get("Idempotency-Key"),
        group=True,
    )
    headers = {"Location": url_for("api_v1.get_submission", submission_id=submission.id)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return submission_json(submission, include_state=True), 201 if created else 200, headers


@bp.get("/submissions/<int:submission_id>")
def get_submission(submission_id):
    """Published views are public; authors also see their own held or pending views."""
    submission = submissions.get_visible(submission_id, g.api_user)
    own = g.api_user is not None and submission.author_id == g.api_user.id
    return submission_json(submission, include_state=own)


@bp.post("/submissions/<int:submission_id>/vote")
@limiter.shared_limit(VOTE_LIMIT, scope=VOTES_SCOPE, key_func=user_or_ip)
def vote(submission_id):
    user = require_user()
    body = json_body({"vote"}, {"vote"})
    submission = submissions.vote(submission_id, user, body["vote"])
    return {
        "id": submission.id,
        "vote": body["vote"],
        "agree": submission.agree_count,
        "disagree": submission.disagree_count,
        "pass": submission.pass_count,
    }
