"""Group agora/services/ by domain, in one go: move each module into its domain's subpackage
(``git mv``) and rewrite every reference across the repository, so the folder shows the
architecture (issue #20). No shims: ``agora/services/__init__.py`` re-exports nothing, every
import names the module where it now lives.

Run from the repository's top, on a clean tree, when nobody else is editing ``agora/``:

    python scripts/group_services.py            # moves, rewrites, sorts the imports it touched
    python scripts/group_services.py --dry-run  # prints what it would move and rewrite
    python scripts/group_services.py --commit   # the same, then commits exactly the paths it touched

It refuses to run when the target layout exists already (a second run changes nothing) or when a
module it moves is missing. It rewrites, in every tracked text file except the changelog (history)
and the translation catalogues (their source locations follow at the next extract):
- ``from agora.services import a, b as c`` (one line or parenthesised, at any indentation):
  split by domain, ``from agora.services.<domain> import a``;
- dotted names ``agora.services.<module>…`` (``from … import``, ``import …``, job paths and
  monkeypatch targets in strings, mypy's module lists, mkdocs references);
- paths ``agora/services/<module>…`` and ``services/<module>…`` (docs, comments).
Then ``ruff check --select I --fix`` sorts the import blocks of the Python files it changed.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "agora" / "services"

# Domain -> (what it holds, the modules or packages it takes). What stays at the top is shared by
# several domains: sanitize, realtime, csvfiles, errors, throttle, geography, database, backup,
# demo, demo_story, demo_live, and two lower layers that four or more domains write to or read:
# audit (the keyed hash chain: submissions, imports, moderation, screening, reports and forum
# responses append to it) and embeddings (the vector store: submissions, screening, search,
# themes, live themes and reports read it).
DOMAINS: dict[str, tuple[str, list[str]]] = {
    "accounts": (
        "People and their organisations: accounts (sign-in, sessions, tokens, profiles),\n"
        "organisations (members, networks, accreditation), notifications, mail (the outbox).",
        ["accounts", "organisations", "notifications", "mail"],
    ),
    "participation": (
        "Taking part: consultations, submissions (+ group_commit, the batching writer below it),\n"
        "the voting card, search, offline (CSV), SMS and imports (Pol.is).",
        ["consultations", "submissions", "group_commit", "voting_card", "search", "offline", "sms", "imports"],
    ),
    "moderation": (
        None,  # the package exists (decisions, appeals, record, learning); screening joins it
        ["screening"],
    ),
    "analysis": (
        "What the views say: themes, opinion groups, the opinion map and the charts.",
        ["themes", "opinions", "opinion_map", "charts"],
    ),
    "reporting": (
        "From the views to the forum: reports (a package), the report summary, forum responses,\n"
        "archives (safe zip reading) and the secretariat's dashboard.",
        ["reports", "report_summary", "forum_responses", "archives", "dashboard"],
    ),
}
MOVES = {module: domain for domain, (_, modules) in DOMAINS.items() for module in modules}

SKIP = ("CHANGELOG.md", "agora/translations/", "docs/screenshots/", "scripts/group_services.py")
FLAT_SENTENCE = (
    "The groups under `services/` are how the modules divide by domain; the folder itself is still\n"
    "flat (one module or package per service). Pending: `scripts/group_services.py` makes each group a\n"
    "subpackage in one go (moves and every reference rewritten, no shims)."
)
GROUPED_SENTENCE = (
    "Each group is a subpackage of `services/` (`services/participation/submissions.py`); audit,\n"
    "embeddings and the cross-cutting modules stay at the top. A domain's `__init__` re-exports\n"
    "nothing: an import names the module (`from agora.services.participation import submissions`)."
)


def plan() -> dict[str, tuple[Path, Path]]:
    """Each module's source and target, read from the flat layout before anything moves."""
    moves = {}
    for module, domain in MOVES.items():
        source = SERVICES / f"{module}.py"
        if not source.is_file():
            source = SERVICES / module
        moves[module] = (source, SERVICES / domain / source.name)
    return moves


def check_layout(moves: dict[str, tuple[Path, Path]]) -> list[str]:
    problems = []
    for domain, (purpose, _) in DOMAINS.items():
        if purpose is not None and (SERVICES / domain).is_dir():
            problems.append(f"agora/services/{domain}/ exists already")
    for module, (source, target) in moves.items():
        if not source.exists():
            problems.append(f"agora/services/{module}(.py) is missing")
        if target.exists():
            problems.append(f"{target.relative_to(ROOT)} exists already")
    return problems


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    files = []
    for name in names.decode().split("\0"):
        if not name or name.startswith(SKIP) or not (ROOT / name).is_file():
            continue
        files.append(ROOT / name)
    return files


NAMES = "|".join(sorted(MOVES, key=len, reverse=True))
DOTTED = re.compile(rf"(?<![\w.])agora\.services\.({NAMES})(?![\w])")
SLASHED = re.compile(rf"(?<![\w/.])((?:agora/)?services/)({NAMES})(?![\w])")


def rewrite_names(text: str) -> str:
    text = DOTTED.sub(lambda m: f"agora.services.{MOVES[m[1]]}.{m[1]}", text)
    return SLASHED.sub(lambda m: f"{m[1]}{MOVES[m[2]]}/{m[2]}", text)


def import_lines(indent: str, module: str, names: list[str]) -> list[str]:
    line = f"{indent}from {module} import {', '.join(names)}"
    if len(line) <= 110:
        return [line]
    return [f"{indent}from {module} import ("] + [f"{indent}    {name}," for name in names] + [f"{indent})"]


def rewrite_service_imports(text: str, path: Path) -> str:
    """Split each ``from agora.services import …`` by domain (the statement's lines replaced)."""
    tree = ast.parse(text, str(path))
    lines = text.splitlines(keepends=True)
    nodes = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "agora.services" and not node.level
        and any(alias.name in MOVES for alias in node.names)
    ]
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        indent = lines[first][: node.col_offset]
        before, after = lines[first][: node.col_offset], lines[last][node.end_col_offset:]
        if before.strip() or not (after.strip() == "" or after.strip().startswith("#")):
            raise SystemExit(f"{path.relative_to(ROOT)}:{node.lineno}: an import shares its line; rewrite it by hand")
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            shown = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
            target = f"agora.services.{MOVES[alias.name]}" if alias.name in MOVES else "agora.services"
            groups.setdefault(target, []).append(shown)
        new = []
        for target in sorted(groups):
            new += import_lines(indent, target, sorted(groups[target]))
        # A trailing comment stays on the statement's last line.
        lines[first : last + 1] = [line + (after if i == len(new) - 1 else "\n") for i, line in enumerate(new)]
    return "".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    parser.add_argument("--commit", action="store_true", help="commit exactly the paths touched")
    parser.add_argument("--allow-dirty", action="store_true", help="run although tracked files are modified")
    args = parser.parse_args()

    plan_ = plan()
    problems = check_layout(plan_)
    if problems:
        print("Refusing to run; the layout is not the flat one this script expects:", *problems, sep="\n  ")
        return 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    # Modified tracked files, and untracked sources (only tracked files are rewritten: add them first).
    dirty = "".join(line + "\n" for line in status.splitlines()
                    if not line.startswith("??") or line.endswith((".py", ".md", ".toml", ".yml", ".cfg")))
    if dirty and not (args.allow_dirty or args.dry_run):
        print("Refusing to run: files are modified or sources untracked (commit them, or --allow-dirty):\n" + dirty)
        return 1

    touched: list[str] = []
    # 1. Rewrite every reference (before moving, so the files are found where git lists them).
    rewritten = []
    for path in tracked_text_files():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite_names(text)
        if path.suffix == ".py":
            new = rewrite_service_imports(new, path)
        if path.name == "architecture.md":
            new = new.replace(FLAT_SENTENCE, GROUPED_SENTENCE)
        if new != text:
            rewritten.append(path)
            if not args.dry_run:
                path.write_text(new, "utf-8")
    # 2. Move each module into its domain (a new domain gets an __init__ that says what it holds).
    moves = []
    for domain, (purpose, modules) in DOMAINS.items():
        package = SERVICES / domain
        init = package / "__init__.py"
        if purpose is not None and not args.dry_run:
            package.mkdir()
            init.write_text(f'"""{purpose}\n\nNo re-exports: import the module, '
                            f'``from agora.services.{domain} import {modules[0]}``."""\n', "utf-8")
            subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)
            touched.append(str(init.relative_to(ROOT)))
        for module in modules:
            source, target = plan_[module]
            moves.append((source.relative_to(ROOT), target.relative_to(ROOT)))
            if not args.dry_run:
                subprocess.run(["git", "mv", str(source), str(target)], cwd=ROOT, check=True)
    for source, target in moves:
        print(f"moved     {source} -> {target}")
        touched += [str(source), str(target)]
    # Paths after the move: a rewritten file that moved is committed under its new name.
    final = []
    for path in rewritten:
        for source, target in plan_.values():
            if path == source:
                path = target
            elif source in path.parents:
                path = target / path.relative_to(source)
        final.append(path)
        print(f"rewrote   {path.relative_to(ROOT)}")
    if args.dry_run:
        print(f"(dry run: {len(moves)} moves, {len(final)} files to rewrite; nothing changed)")
        return 0
    python_files = [str(p) for p in final if p.suffix == ".py"]
    sort = subprocess.run(["ruff", "check", "--select", "I", "--fix", "--quiet", *python_files], cwd=ROOT)
    if sort.returncode:
        print("ruff could not sort every import block it was given (see above); fix those by hand")
    touched += [str(p.relative_to(ROOT)) for p in final]
    print(f"{len(moves)} modules moved, {len(final)} files rewritten; no shims.")
    print("Check: python -c 'from agora import create_app; create_app()' && ruff check && mypy "
          "&& mkdocs build --strict && python -m pytest tests/test_import_graph.py")
    if args.commit:
        subprocess.run(["git", "add", "--", *[t for t in touched if (ROOT / t).exists()]], cwd=ROOT, check=True)
        subprocess.run(["git", "commit", "-m", "Services grouped by domain (accounts, participation, moderation, "
                        "analysis, hearings, reporting; shared modules at the top): modules moved with git mv, "
                        "every import and dotted name rewritten, no shims (scripts/group_services.py, issue #20)",
                        "--", *touched], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
