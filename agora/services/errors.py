"""Domain errors; adapters (web, api, live) turn them into status codes and messages."""


class AgoraError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


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
