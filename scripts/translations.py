"""Keep the interface's translations in step with the code.

    python scripts/translations.py extract   # templates + Python -> agora/translations/messages.pot
    python scripts/translations.py update    # merge the .pot into each language's .po
    python scripts/translations.py compile   # .po -> .mo (the app reads the .mo files)
    python scripts/translations.py all       # the three, in order

Translators edit agora/translations/<lang>/LC_MESSAGES/messages.po, then run ``compile``;
tests/test_i18n.py fails while a message is untranslated, fuzzy, or a .mo is out of date.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "agora" / "translations"
POT = DIRECTORY / "messages.pot"
LANGUAGES = ("fr", "es", "ar", "zh", "ru")
# _ / gettext are found by default; _l, lazy_gettext and N_ mark labels; the error classes carry
# messages shown to people (agora.services.errors translates them when they are displayed).
KEYWORDS = [
    "_l",
    "lazy_gettext",
    "N_",
    "Invalid",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Closed",
    "TooLarge",
    "Unavailable",
]


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", *args], check=True, cwd=ROOT)


def _literals(path: Path) -> set[str]:
    """Every plain string constant in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def extract(output: Path = POT) -> None:
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        *keywords,
        "--no-wrap",
        "--sort-by-file",
        "--project",
        "Agora",
        "--copyright-holder",
        "Agora contributors",
        "-o",
        str(output),
        ".",
    )
    # An error raised with a computed message (a conditional, a concatenation) cannot be looked up
    # at run time: drop what the extractor glued together from several literals.
    from babel.messages.pofile import read_po, write_po

    with output.open("rb") as handle:
        catalog = read_po(handle)
    cache: dict[str, set[str]] = {}
    for message in list(catalog):
        if not message.id or not message.locations:
            continue
        if all(path.endswith(".py") for path, _ in message.locations):
            ids = message.id if isinstance(message.id, tuple) else (message.id,)  # ngettext: both forms
            found = any(
                all(i in cache.setdefault(path, _literals(ROOT / path)) for i in ids) for path, _ in message.locations
            )
            if not found:
                catalog.delete(message.id)
    with output.open("wb") as handle:
        write_po(handle, catalog, width=0)


def update() -> None:
    for language in LANGUAGES:
        po = DIRECTORY / language / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        _pybabel(
            command,
            "-i",
            str(POT),
            "-d",
            str(DIRECTORY),
            "-l",
            language,
            "--no-wrap",
            *(["--ignore-obsolete"] if command == "update" else []),
        )


def compile_() -> None:
    _pybabel("compile", "-d", str(DIRECTORY))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", default="all", choices=["extract", "update", "compile", "all"])
    parser.add_argument("--output", type=Path, default=POT, help="where extract writes (default: the shipped .pot)")
    args = parser.parse_args()
    if args.step == "extract":
        extract(args.output)
    else:
        for step in {"update": [update], "compile": [compile_], "all": [extract, update, compile_]}[args.step]:
            step()
