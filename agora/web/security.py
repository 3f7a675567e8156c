"""Security headers for every response: a CSP with no inline scripts, no framing, no sniffing;
and form posts whose bytes are not UTF-8 refused before anything reads them."""

import re
from urllib.parse import unquote_to_bytes

from flask import Request, Response, current_app, request

CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src {connect}",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def connect_sources() -> str:
    """Where the page's scripts may connect: this origin, its WebSockets (older browsers do not
    count ws:/wss: of the same host as 'self'), and the configured CORS origins; never any host."""
    sources = ["'self'"]
    if _HOST.match(request.host or ""):
        sources += [f"ws://{request.host}", f"wss://{request.host}"]
    for origin in current_app.config.get("CORS_ORIGINS") or []:
        if _ORIGIN.match(origin):
            sources += [origin, "ws" + origin[4:]]  # http(s)://h -> ws(s)://h
    return " ".join(dict.fromkeys(sources))


def content_security_policy() -> str:
    return "; ".join(CSP_DIRECTIVES).replace("{connect}", connect_sources())


def apply_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    elif "Cache-Control" not in response.headers and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-cache"
    return response


class StrictFormRequest(Request):
    """Werkzeug decodes a form post's percent-escapes with replacement, so bytes that are not UTF-8
    (a UTF-8-encoded surrogate, stray bytes) would become U+FFFD and be stored changed. This request
    refuses such a form (422, code "encoding") when the form is first read (by the CSRF check), as
    the API and the sockets refuse a lone surrogate. Multipart uploads are checked by their readers
    (the CSV import decodes strictly)."""

    def _load_form_data(self) -> None:
        if "form" not in self.__dict__ and self.mimetype == "application/x-www-form-urlencoded":
            raw = self.get_data(cache=True, parse_form_data=False)  # parsing then reads the cached bytes
            for piece in re.split(rb"[&=]", raw):
                try:
                    unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
                except UnicodeDecodeError:
                    from agora.services.errors import Invalid

                    raise Invalid("The text is not valid UTF-8.", code="encoding") from None
        super()._load_form_data()
