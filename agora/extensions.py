"""Extensions, created unbound; ``create_app`` binds them."""

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints so Alembic can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# A session lives for one request (or one socket event, or one job). Not expiring on commit saves
# re-reading every object the request goes on to use after committing (the view it answers with,
# its author); a session that must see other writers' later changes calls db.session.expire_all().
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()  # gzip / brotli / zstd: pages and static files travel compressed (slow links)
socketio = SocketIO()


def _reads_are_free() -> bool:
    from flask import request

    return request.method in ("GET", "HEAD", "OPTIONS")


def _ip_write_limit() -> str:
    from flask import current_app

    return current_app.config.get("IP_WRITE_LIMIT") or "240 per minute"


# Per-route limits (per user or IP) sit on the write routes; on top, every write from one IP
# address counts against one shared budget, so many accounts behind one script are slowed too.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    application_limits=[_ip_write_limit],  # keyed by IP; socket writes spend it too (ratelimits.ip_ceiling)
    application_limits_exempt_when=_reads_are_free,
    headers_enabled=True,
)
