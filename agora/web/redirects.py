"""The one place that decides where a ``next`` parameter may send the browser: a path on this site.

Browsers read a Location the WHATWG URL way: they drop every tab, CR and LF anywhere in it and
leading or trailing spaces and control characters, and they treat a backslash as a slash. So
``/\t/evil.example`` and ``/\\evil.example`` both mean ``//evil.example``, another host. The check
is therefore made on what the browser will see, and anything that is not a single '/' followed by
a path (no scheme, no host, no backslash) goes to the default instead.
"""

from urllib.parse import urlsplit

from werkzeug.exceptions import BadRequest

_STRIPPED_INSIDE = str.maketrans("", "", "\t\n\r")  # what the URL parser removes everywhere
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))  # what it strips from both ends


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``.

    :raise BadRequest: CR or LF in the target (a header-splitting attempt): 400, never a 500."""
    if not target:
        return default
    if "\r" in target or "\n" in target:
        raise BadRequest("The next address holds a line break.")
    seen = target.translate(_STRIPPED_INSIDE).strip(_C0_OR_SPACE)
    if seen != target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default  # a browser would read something else than what we would check
    if not seen.startswith("/") or seen.startswith("//") or "\\" in seen:
        return default
    parts = urlsplit(seen)
    if parts.scheme or parts.netloc:
        return default
    return seen
