"""Domain errors; adapters (web, api, live) turn them into status codes and messages."""


class AgoraError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.english = message
        self.field = field
        if code:
            self.code = code

    @property
    def message(self) -> str:
        """The message in the reader's language when the catalogue has it (adapters show this)."""
        from agora.i18n import translate

        return translate(self.english)


class Invalid(AgoraError):
    status = 422
    code = "invalid"


class TooLarge(AgoraError):
    status = 413
    code = "too_large"


class NotFound(AgoraError):
    status = 404
    code = "not_found"


class Forbidden(AgoraError):
    status = 403
    code = "forbidden"


class Conflict(AgoraError):
    status = 409
    code = "conflict"


class Closed(Conflict):
    code = "closed"


class Unavailable(AgoraError):
    status = 503
    code = "unavailable"
