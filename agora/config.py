"""Settings from the environment (``AGORA_*``); the defaults run embedded (SQLite, in-process)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _env(name, default=None):
    return os.environ.get(f"AGORA_{name}", default)


def _env_int(name, default):
    value = _env(name)
    return int(value) if value not in (None, "") else default


def _env_bool(name, default):
    value = _env(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production-leaning defaults; every value can be overridden by an AGORA_* variable."""

    def __init__(self, instance_path: str):
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        self.SECRET_KEY = _env("SECRET_KEY") or self._instance_secret(instance_path)
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL") or (
            "sqlite:///" + os.path.join(instance_path, "agora.sqlite3")
        )
        self.REDIS_URL = _env("REDIS_URL") or None
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        # Every write from one address (forms, API, socket events), whoever is signed in. A venue
        # where hundreds vote in a live hearing behind one NAT address needs more.
        self.IP_WRITE_LIMIT = _env("IP_WRITE_LIMIT") or "240 per minute"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down must not refuse submissions: count in this process's memory until it is back.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_DURATION = timedelta(days=_env_int("REMEMBER_DAYS", 14))
        # Idle timeout: the session cookie expires this long after the last request.
        self.PERMANENT_SESSION_LIFETIME = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 120))
        self.SESSION_REFRESH_EACH_REQUEST = True
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: slow links, long forms
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).parent / "translations")
        self.LANGUAGES = ["en", "fr", "es", "ar", "zh", "ru"]
        self.SUBMISSION_MAX_CHARS = _env_int("SUBMISSION_MAX_CHARS", 5000)
        self.PAGE_SIZE = _env_int("PAGE_SIZE", 20)
        # Without JavaScript a hearing's newest messages refresh this often, in a frame with no form.
        self.HEARING_REFRESH_SECONDS = _env_int("HEARING_REFRESH_SECONDS", 30)
        # Public pages' participation counts are recomputed at most this often per process (and at
        # once after this process commits a view or a vote): counting 200k votes costs ~40 ms.
        self.COUNTS_CACHE_SECONDS = _env_int("COUNTS_CACHE_SECONDS", 10)
        # Anonymous readers share a rendering of a public page until this process commits anything,
        # for at most this long (agora/web/page_cache.py); 0 renders every page afresh.
        self.PAGE_CACHE_SECONDS = _env_int("PAGE_CACHE_SECONDS", 5)
        # Views posted at the same moment share one transaction (services/participation/group_commit.py).
        self.GROUP_COMMIT = _env("GROUP_COMMIT") != "0"
        # Behind a reverse proxy (nginx, a load balancer): how many proxies append to
        # X-Forwarded-For / X-Forwarded-Proto in front of the app. 0 (the default) trusts neither
        # header, so nobody can choose the address the rate limits see; set it to the exact number
        # of proxies, or every user shares the proxy's address (agora/__init__.py, ProxyFix).
        self.PROXY_HOPS = _env_int("PROXY_HOPS", 0)
        self.CORS_ORIGINS = [o for o in (_env("CORS_ORIGINS") or "").split(",") if o] or None
        # Background jobs: "process" (embedded: a child process of the server), "thread" (a thread
        # of the server) or "rq" (a Redis queue and worker processes). agora/jobs/__init__.py.
        self.JOBS_BACKEND = _env("JOBS") or "process"
        if self.JOBS_BACKEND not in ("process", "thread", "rq", "inline"):
            raise ValueError("AGORA_JOBS must be process, thread, rq or inline")
        if self.JOBS_BACKEND == "rq" and not self.REDIS_URL:
            raise ValueError("AGORA_JOBS=rq needs AGORA_REDIS_URL")
        # Each view is embedded once, by a background job right after it is stored
        # (services/embeddings.py); off, the next theme refit embeds what is missing.
        self.EMBEDDINGS_AUTO = _env_bool("EMBEDDINGS_AUTO", True)
        # Under the gevent server, sentence embeddings (~1.5 ms of CPU a view, read by screening and
        # search) and the abuse model's scores (~0.4 ms) are computed by a child process
        # (moderation/embedding_process.py), so the core serving requests only waits for them;
        # off, the embeddings by a native thread of the server and the scores on its loop.
        self.EMBEDDINGS_PROCESS = _env_bool("EMBEDDINGS_PROCESS", True)
        self.ADMIN_EMAIL = _env("ADMIN_EMAIL")
        self.ADMIN_PASSWORD = _env("ADMIN_PASSWORD")
        self.SMS_SECRET, self.SMS_SALT = _env("SMS_SECRET"), _env("SMS_SALT")  # SMS gateway signature; sender-hash salt
        # The audit chain's HMAC key, kept outside the database (so whoever can write the database
        # cannot recompute the chain), and where its signed checkpoints are appended.
        self.AUDIT_KEY = _env("AUDIT_KEY") or self._instance_secret(instance_path, "audit_key")
        self.AUDIT_CHECKPOINTS = _env("AUDIT_CHECKPOINTS") or os.path.join(instance_path, "audit-checkpoints.jsonl")
        # Email (agora/services/accounts/mail.py). No AGORA_SMTP_HOST: notifications stay in the app and
        # nothing is emailed. SMTP_SECURITY: starttls (default, port 587), ssl (465) or none (25).
        self.SMTP_HOST = _env("SMTP_HOST") or None
        self.SMTP_SECURITY = (_env("SMTP_SECURITY") or "starttls").strip().lower()
        if self.SMTP_SECURITY not in ("starttls", "ssl", "none"):
            raise ValueError("AGORA_SMTP_SECURITY must be starttls, ssl or none")
        self.SMTP_PORT = _env_int("SMTP_PORT", {"starttls": 587, "ssl": 465, "none": 25}[self.SMTP_SECURITY])
        self.SMTP_USER, self.SMTP_PASSWORD = _env("SMTP_USER"), _env("SMTP_PASSWORD")
        self.SMTP_TIMEOUT = _env_int("SMTP_TIMEOUT", 20)
        # CA certificates (PEM) that sign the mail server's certificate, for a relay with a private
        # CA; unset: the system's. The certificate and its host name are always checked.
        self.SMTP_CA_FILE = _env("SMTP_CA_FILE") or None
        self.MAIL_FROM = _env("MAIL_FROM") or "Agora <no-reply@localhost>"
        self.MAIL_PER_RECIPIENT_PER_HOUR = _env_int("MAIL_PER_RECIPIENT_PER_HOUR", 6)
        self.MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 6)
        self.MAIL_RETRY_SECONDS = _env_int("MAIL_RETRY_SECONDS", 60)  # doubles after each failed attempt
        self.MAIL_WAIT_SECONDS = _env_int("MAIL_WAIT_SECONDS", 300)  # the job waits for a retry due this soon
        # The address people reach this site at: the links in emails (no request to take it from).
        self.PUBLIC_URL = _env("PUBLIC_URL") or "http://localhost:5000"
        self.TESTING = False

    @staticmethod
    def _instance_secret(instance_path: str, name: str = "secret_key") -> str:
        """A random key kept in the instance folder, so sessions survive a restart without setup."""
        path = Path(instance_path) / name
        if not path.exists():
            # Written aside, then linked into place: processes starting together all read the one
            # key that won (two audit keys would split the audit chain), never a half-written file.
            draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_hex(32))
            draft.chmod(0o600)
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not path.exists():
                    os.replace(draft, path)
            finally:
                draft.unlink(missing_ok=True)
        return path.read_text().strip()

    @staticmethod
    def _engine_options(url: str) -> dict:
        if url.startswith("sqlite"):
            # Short busy timeout: sqlite3 blocks gevent's loop while it waits for the lock.
            return {"connect_args": {"timeout": 2, "check_same_thread": False}}
        # A write that waits more than 5 s for a lock (a migration, a long report transaction) is
        # refused with a 503 and Retry-After, as on SQLite, instead of hanging the request.
        return {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 20,
            "connect_args": {"options": "-c lock_timeout=5000"},
        }


class TestConfig(Config):
    """Tests: a database per run, rate limits on (tests exercise them), CSRF on."""

    def __init__(self, instance_path: str):
        super().__init__(instance_path)
        self.TESTING = True
        self.SECRET_KEY = "test-secret-key"
        self.EMBEDDINGS_AUTO = False  # tests that need the background embedding turn it on
