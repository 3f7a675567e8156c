"""MkDocs hook: write the OpenAPI document the app serves to docs/api/openapi.json before a build.

The API reference page (docs/api/reference.md) is rendered from it by the neoteroi-mkdocs OAD
plugin, so the docs always describe the routes of this checkout. No network and no database: the
app is built with the test configuration in a throw-away instance folder and asked for
``/api/v1/openapi.json`` like any client. The file is rewritten only when it changes (so
``mkdocs serve`` does not rebuild in a loop) and is not committed (.gitignore).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    from agora import create_app
    from agora.config import TestConfig

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(TestConfig, instance_path=instance)
        response = app.test_client().get("/api/v1/openapi.json")
    if response.status_code != 200:
        raise RuntimeError(f"/api/v1/openapi.json answered {response.status_code}")
    document: dict[str, Any] = response.get_json()
    return document


def on_pre_build(config: Any, **kwargs: Any) -> None:
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if not TARGET.exists() or TARGET.read_text("utf-8") != text:
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text, "utf-8")
