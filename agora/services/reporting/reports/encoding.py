"""How a report is written down: canonical JSON (sorted keys, UTF-8), its SHA-256, times in UTC."""

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from agora.models import Report


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode(
        "utf-8"
    )


def digest(content_bytes: bytes) -> str:
    return hashlib.sha256(content_bytes).hexdigest()


def content_of(report: Report) -> dict:
    return json.loads(report.content_json)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _iso(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_T = TypeVar("_T")


def _chunks(items: Iterable[_T], n: int) -> Iterator[list[_T]]:
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]
