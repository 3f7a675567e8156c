"""Agora's ML library: moderation scoring, themes and opinion groups.

Pure: plain Python in, frozen dataclasses out. It never imports ``agora``, Flask or
SQLAlchemy, so evaluations and benchmarks can use it outside the app.
"""

from importlib import import_module

__all__ = ["Moderator", "Score", "themes", "opinions"]

_LAZY = {
    "Moderator": ("moderation.classify", "Moderator"),
    "Score": ("moderation.classify", "Score"),
    "themes": ("moderation.themes", None),
    "opinions": ("moderation.opinions", None),
}


def __getattr__(name: str) -> object:
    """Import submodules on first use, so loading one part never pays for the others."""
    if name not in _LAZY:
        raise AttributeError(f"module 'moderation' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = import_module(module_name)
    return getattr(module, attribute) if attribute else module
