"""Home page, language switch and health endpoints."""
from flask import Blueprint, current_app, redirect, render_template, request
from sqlalchemy import text

from agora.extensions import db
from agora.services import consultations

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    found = consultations.public_list()
    return render_template(
        "main/index.html", consultations=found, counts=consultations.counts([c.id for c in found])
    )


@bp.get("/about")
def about():
    return render_template("main/about.html")


@bp.get("/language/<code>")
def set_language(code):
    """Remember the chosen interface language in a cookie (works without JavaScript)."""
    target = request.args.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


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

            redis.Redis.from_url(redis_url, socket_timeout=1).ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unavailable: {error.__class__.__name__}"
    ready = checks["database"] == "ok"
    degraded = any(v != "ok" for v in checks.values())
    status = "ok" if not degraded else ("degraded" if ready else "unavailable")
    return {"status": status, "checks": checks}, 200 if ready else 503
