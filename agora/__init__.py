"""Agora: a global Internet agora for public participation in intergovernmental decision-making."""

import logging

from flask import Flask


def create_app(config=None, instance_path: str | None = None) -> Flask:
    """The factory: a table of contents of what the app is made of."""
    import os

    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("AGORA_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    from agora.config import Config

    app.config.from_object((config or Config)(app.instance_path))
    register_logging(app)
    register_extensions(app)
    register_proxy(app)  # after the Socket.IO middleware, so that it wraps it: sockets see the client's address too
    register_converters(app)
    register_blueprints(app)
    register_security(app)
    register_errors(app)
    register_templates(app)
    register_commands(app)
    return app


def register_logging(app: Flask) -> None:
    if not app.debug and not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def register_proxy(app: Flask) -> None:
    """Behind AGORA_PROXY_HOPS reverse proxies, the client's address and scheme are the ones they
    forward (Werkzeug's ProxyFix); X-Forwarded-Host is never trusted (the socket origin check
    compares against the Host)."""
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def register_extensions(app: Flask) -> None:
    from agora import extensions, i18n
    from agora.services import database
    from agora.web import page_cache

    extensions.db.init_app(app)
    database.configure(app)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(_root() / "migrations"), render_as_batch=True, compare_type=True
    )
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    extensions.babel.init_app(app, locale_selector=_select_locale)
    i18n.install_template_gettext(app)
    extensions.compress.init_app(app)
    extensions.login_manager.init_app(app)
    page_cache.init_app(app)
    extensions.login_manager.login_view = "auth.login"
    extensions.login_manager.session_protection = "strong"
    extensions.socketio.init_app(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE"),
        message_queue=app.config["REDIS_URL"],
        # None means same origin only; an empty list would turn the origin check off.
        cors_allowed_origins=app.config["CORS_ORIGINS"] or None,
        max_http_buffer_size=64 * 1024,
        manage_session=False,
    )

    @extensions.login_manager.user_loader
    def load_user(token):
        from agora.services.accounts.accounts import user_for_session

        return user_for_session(token)


def register_converters(app: Flask) -> None:
    """Ids in URLs are ASCII digits (werkzeug's int converter matches any Unicode digit, so
    /submissions/𝟺 was view 4) and fit a database INTEGER (32-bit on PostgreSQL); other ones are
    simply not found."""
    from werkzeug.exceptions import NotFound
    from werkzeug.routing import IntegerConverter

    class AsciiIntegerConverter(IntegerConverter):
        regex = r"[0-9]+"

    app.url_map.converters["int"] = AsciiIntegerConverter

    @app.url_value_preprocessor
    def bounded_ids(endpoint, values):
        for value in (values or {}).values():
            if isinstance(value, int) and value > 2**31 - 1:
                raise NotFound()


BLUEPRINTS = (  # the modules whose `bp` is registered, in this order
    "agora.web.main",
    "agora.web.auth",
    "agora.web.consultations",
    "agora.web.admin",
    "agora.web.moderation",
    "agora.web.reports",
    "agora.api.v1",
    "agora.web.hearings",
    "agora.web.themes",
    "agora.web.organisations",
    "agora.web.offline",
    "agora.web.sms",
    "agora.web.notifications",
    "agora.web.voting",
)


def register_blueprints(app: Flask) -> None:
    from importlib import import_module

    from agora import live

    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    live.register(app)


def register_security(app: Flask) -> None:
    from agora.web.security import StrictFormRequest, apply_security_headers

    app.request_class = StrictFormRequest
    app.after_request(apply_security_headers)


def register_errors(app: Flask) -> None:
    from agora.web.errors import register

    register(app)


def register_templates(app: Flask) -> None:
    from agora.web.helpers import register_template_helpers

    register_template_helpers(app)


def register_commands(app: Flask) -> None:
    from agora.cli import agora_cli

    app.cli.add_command(agora_cli)


def _select_locale():
    from flask import current_app, has_request_context, request
    from flask_login import current_user

    if not has_request_context():
        return None  # jobs, CLI: the default locale
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or "en"


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
