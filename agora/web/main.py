"""Home page, language switch and health endpoints."""

from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory
from flask_login import current_user
from sqlalchemy import text

from agora.extensions import db
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.participation import consultations
from agora.web.page_cache import shared_with_anonymous_readers
from agora.web.redirects import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@shared_with_anonymous_readers
def index():
    found = consultations.public_list()
    return render_template(
        "main/index.html",
        consultations=found,
        counts=consultations.counts([c.id for c in found]),
        live_hearings=hearings.live_now(),
    )


@bp.get("/about")
def about():
    return render_template("main/about.html")


@bp.get("/language/<code>")
def set_language(code):
    """Remember the chosen interface language in a cookie (works without JavaScript)."""
    target = safe_next(request.args.get("next"), "/")
    # The page the switch came from, without a ?lang= that would override the new choice.
    path, _, query = target.partition("?")
    query = "&".join(part for part in query.split("&") if part and not part.startswith("lang="))
    target = path + ("?" + query if query else "")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        if current_user.is_authenticated:
            accounts.remember_locale(current_user, code)  # emails follow the language chosen here
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the site's icon, not a 404 per visit."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon", max_age=7 * 24 * 3600)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # report, don't crash: this is what the probe is for
        db.session.rollback()
        checks["database"] = f"unavailable: {error.__class__.__name__}"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis

            connection = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
            connection.ping()
            checks["redis"] = "ok"
            if current_app.config.get("JOBS_BACKEND") == "rq":
                checks["workers"] = _rq_workers(connection)
        except Exception as error:
            checks["redis"] = f"unavailable: {error.__class__.__name__}"
            if current_app.config.get("JOBS_BACKEND") == "rq":
                checks["workers"] = "unknown: redis unavailable"
    ready = checks["database"] == "ok"
    degraded = any(not v.startswith("ok") for v in checks.values())
    status = "ok" if not degraded else ("degraded" if ready else "unavailable")
    return {"status": status, "checks": checks}, 200 if ready else 503


def _rq_workers(connection) -> str:
    """ "ok (N)" when RQ workers listening on our queue are registered in Redis (they expire
    from the registry when their heartbeat stops), else "none": jobs would wait."""
    from rq import Queue, Worker

    from agora.jobs import QUEUE_NAME

    count = Worker.count(connection=connection, queue=Queue(QUEUE_NAME, connection=connection))
    return f"ok ({count})" if count else "none: no worker is listening on the job queue"
