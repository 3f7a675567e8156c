"""The API under bearer tokens: every API route × every kind of caller, with the exact status written
down (401, 403, 404 and success told apart), so a refusal that turns into an answer (an IDOR: a held
view shown to someone else, another user's token revoked) fails here; a broken check is shown to
fail it. The test enumerates the API's routes, so a new one without a line here fails it."""

import pytest

from agora.extensions import db, limiter
from agora.models import Consultation, Submission, User
from tests.conftest import civic_statements, csrf_from, login

CALLERS = ("anonymous", "revoked", "participant", "author", "admin")
ABUSIVE = "You worthless idiots, shut up and go away you stupid bitches"


def _ok(status):
    return {caller: (401 if caller == "revoked" else status) for caller in CALLERS}


def _signed(status, anonymous=401):
    return {"anonymous": anonymous, "revoked": 401, "participant": status, "author": status, "admin": status}


# (endpoint, method, path, JSON body or raw bytes, {caller: status})
MATRIX = [
    ("api_v1.openapi", "GET", "/api/v1/openapi.json", None, _ok(200)),
    ("api_v1.list_consultations", "GET", "/api/v1/consultations", None, _ok(200)),
    ("api_v1.get_consultation", "GET", "/api/v1/consultations/{open}", None, _ok(200)),
    ("api_v1.get_consultation", "GET", "/api/v1/consultations/{draft}", None, _ok(404)),  # a draft is not public
    ("api_v1.list_submissions", "GET", "/api/v1/consultations/{open}/submissions", None, _ok(200)),
    ("api_v1.list_submissions", "GET", "/api/v1/consultations/{draft}/submissions", None, _ok(404)),
    (
        "api_v1.create_submission",
        "POST",
        "/api/v1/consultations/{open}/submissions",
        {"text": "text:new"},
        _signed(201),
    ),
    (
        "api_v1.create_submission",
        "POST",
        "/api/v1/consultations/{draft}/submissions",
        {"text": "text:draft"},
        _signed(404),
    ),
    (
        "api_v1.create_submission",
        "POST",
        "/api/v1/consultations/{closed}/submissions",
        {"text": "text:closed"},
        _signed(409),
    ),
    ("api_v1.get_submission", "GET", "/api/v1/submissions/{published}", None, _ok(200)),
    # A held view: its author sees it (with its state); to anyone else it does not exist.
    (
        "api_v1.get_submission",
        "GET",
        "/api/v1/submissions/{held}",
        None,
        {"anonymous": 404, "revoked": 401, "participant": 404, "author": 200, "admin": 404},
    ),
    ("api_v1.vote", "POST", "/api/v1/submissions/{published}/vote", {"vote": "agree"}, _signed(200)),
    ("api_v1.vote", "POST", "/api/v1/submissions/{held}/vote", {"vote": "agree"}, _signed(404)),
    ("api_v1.list_reports", "GET", "/api/v1/reports", None, _ok(200)),
    ("api_v1.get_report", "GET", "/api/v1/reports/{report}", None, _ok(404)),  # a draft report: not published
    ("api_v1.get_package", "GET", "/api/v1/reports/{report}/package", None, _ok(404)),
    ("api_v1.verify_stored", "GET", "/api/v1/reports/{report}/verify", None, _ok(200)),  # answers "not frozen"
    ("api_v1.verify_upload", "POST", "/api/v1/reports/verify", b"not a zip", _ok(200)),  # answers "not a package"
]


@pytest.fixture
def world(app, make):
    from agora.services.accounts import accounts
    from agora.services.reporting import reports

    ids = {
        "open": make.consultation("Open"),
        "draft": make.consultation("Draft", status="draft"),
        "closed": make.consultation("Closed"),
    }
    people = {name: make.user(email=f"{name}@example.org") for name in ("participant", "author", "revoked")}
    people["admin"] = make.user(email="admin@example.org", role="admin")
    texts = civic_statements(2)
    ids["published"] = make.submission(ids["open"], people["author"], texts[0])
    ids["held"] = make.submission(ids["open"], people["author"], ABUSIVE)
    make.submission(ids["closed"], people["author"], texts[1])
    tokens = {}
    with app.app_context():
        assert db.session.get(Submission, ids["held"]).state == "held"
        db.session.get(Consultation, ids["closed"]).status = "closed"
        db.session.commit()
        ids["report"] = reports.create_draft(ids["closed"], None).id
        for name, user_id in people.items():
            token, tokens[name] = accounts.create_token(db.session.get(User, user_id), "matrix")
            if name == "revoked":
                accounts.revoke_token(db.session.get(User, user_id), token.id)
    return ids, tokens


def _matrix(app, world) -> list[str]:
    ids, tokens = world
    wrong = []
    app.config["RATELIMIT_ENABLED"] = False
    limiter.enabled = False
    try:
        for n, (endpoint, method, template, body, expected) in enumerate(MATRIX):
            for caller in CALLERS:
                headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller != "anonymous" else {}
                path = template.format(**ids)
                if isinstance(body, bytes):
                    response = app.test_client().open(
                        path, method=method, data=body, content_type="application/zip", headers=headers
                    )
                else:
                    data = {
                        k: f"{civic_statements(60)[n + 20]} ({caller})" if str(v).startswith("text:") else v
                        for k, v in (body or {}).items()
                    }
                    response = app.test_client().open(
                        path, method=method, json=data if body is not None else None, headers=headers
                    )
                if response.status_code != expected[caller]:
                    wrong.append(
                        f"{caller} {method} {path} ({endpoint}): expected {expected[caller]}, got {response.status_code}"
                    )
    finally:
        limiter.enabled = True
        app.config["RATELIMIT_ENABLED"] = True
    return wrong


def test_every_api_route_and_method_is_in_the_matrix(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_v1.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == {(endpoint, method) for endpoint, method, *_ in MATRIX}


def test_every_api_call_answers_every_caller_as_written_down(app, world):
    wrong = _matrix(app, world)
    assert wrong == [], "\n".join(wrong)


def test_a_broken_visibility_check_makes_the_matrix_fail(app, world, monkeypatch):
    """An IDOR planted on purpose (any view visible to anyone) must be caught."""
    from agora.services.participation import submissions

    monkeypatch.setattr(
        submissions, "get_visible", lambda submission_id, viewer: db.session.get(Submission, submission_id)
    )
    wrong = _matrix(app, world)
    assert any(
        line.startswith("participant GET /api/v1/submissions/") and "expected 404, got 200" in line for line in wrong
    )


def test_revoking_another_users_token_is_refused_and_changes_nothing(app, make):
    """A 404 here is the right refusal, and the token must still work afterwards."""
    from agora.services.accounts import accounts

    owner_id = make.user(email="owner@example.org")
    make.user(email="intruder@example.org")
    with app.app_context():
        token, secret = accounts.create_token(db.session.get(User, owner_id), "mine")
    intruder = app.test_client()
    login(intruder, "intruder@example.org")
    response = intruder.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_from(intruder, "/account/profile")}
    )
    assert response.status_code == 404
    assert (
        app.test_client().get("/api/v1/consultations", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
