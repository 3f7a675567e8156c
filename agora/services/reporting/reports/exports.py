"""A report's formats: HTML, PDF (WeasyPrint), CSV tables (cells neutralised) and the
transmission package (a zip with a manifest of every file's SHA-256, the same bytes every time)."""

import io
import zipfile
from collections.abc import Iterable, Sequence

from agora.models import Report
from agora.services import csvfiles
from agora.services.reporting import report_summary
from agora.services.reporting.reports.encoding import canonical, content_of, digest

PACKAGE_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same report gives the same bytes


def csv_tables(content: dict) -> dict[str, str]:
    tables = {}

    def write(name: str, header: list[str], rows: Iterable[Sequence[object]]) -> None:
        buffer = io.StringIO()
        writer = csvfiles.writer(buffer, lineterminator="\n")  # cells neutralised: participants wrote the texts
        writer.writerow(header)
        writer.writerows(rows)
        tables[name] = buffer.getvalue()

    participation = content["participation"]
    for scope in ("participants_by", "submissions_by"):
        for dimension, rows in participation[scope].items():
            write(
                f"{scope.replace('_by', '')}_by_{dimension}.csv",
                ["key", "label", "count", "share"],
                [[r["key"], r["label"], r["count"], r["share"]] for r in rows],
            )
    write(
        "themes.csv",
        ["theme_id", "label", "size", "share", "terms", "quote_submission_ids"],
        [
            [
                t["id"],
                t["label"],
                t["size"],
                t["share"],
                " ".join(t["terms"]),
                " ".join(str(q["submission_id"]) for q in t["quotes"]),
            ]
            for t in content["themes"]["items"]
        ],
    )
    write(
        "theme_breakdowns.csv",
        ["theme_id", "dimension", "key", "count", "share"],
        [
            [t["id"], dim, r["key"], r["count"], r["share"]]
            for t in content["themes"]["items"]
            for dim in ("constituency", "region")
            for r in t[dim]
        ],
    )
    groups = content["opinions"]["groups"]
    write(
        "opinion_groups.csv",
        ["group", "size", "constituency", "count", "share"],
        [
            [g.get("letter", g["id"]), g["size"], r["key"], r["count"], r["share"]]
            for g in groups
            for r in g["constituency"]
        ],
    )

    def shares(found: dict | None) -> list[object]:
        found = found or {}
        return [found.get("votes"), found.get("agree"), found.get("disagree"), found.get("pass")]

    write(
        "opinion_group_statements.csv",
        [
            "group",
            "submission_id",
            "direction",
            "group_votes",
            "group_agree",
            "group_disagree",
            "group_pass",
            "everyone_votes",
            "everyone_agree",
            "everyone_disagree",
            "everyone_pass",
            "text",
        ],
        [
            [
                g.get("letter", g["id"]),
                s["submission_id"],
                s.get("direction"),
                *shares(s.get("group")),
                *shares(s.get("everyone")),
                s["text"],
            ]
            for g in groups
            for s in g["representative"]
        ],
    )
    statements = []
    for kind in ("consensus", "divisive", "consensus_across_constituencies", "consensus_across_regions"):
        statements += [[kind, s["submission_id"], s["text"]] for s in content["opinions"][kind]]
    write("statements.csv", ["kind", "submission_id", "text"], statements)
    # Each agreed and divisive statement's shares, everyone's and each group's (what the summary cites)
    write(
        "statement_shares.csv",
        ["kind", "submission_id", "who", "votes", "agree", "disagree", "pass"],
        [
            [kind, s["submission_id"], who, *shares(found)]
            for kind in ("consensus", "divisive")
            for s in content["opinions"][kind]
            if s.get("everyone")
            for who, found in [("everyone", s["everyone"]), *sorted((s.get("groups") or {}).items())]
        ],
    )
    if content.get("summary"):
        write(
            "summary.csv",
            ["section", "kind", "text", "statement_ids"],
            [
                [c["section"], c["kind"], c["text"], " ".join(str(i) for i in c["statements"])]
                for c in content["summary"]["claims"]
            ],
        )
    moderation = content["moderation"]
    measures = (
        "received",
        "screened",
        "published_at_once",
        "held",
        "hidden_at_import",
        "unscreened",
        "approved",
        "hidden",
        "rejected",
        "after_reports",
        "kept",
        "waiting",
        "restored_on_appeal",
    )
    write("moderation.csv", ["measure", "value"], [[k, moderation[k]] for k in measures if k in moderation])
    return tables


def render_html(report: Report, *, standalone: bool = True) -> str:
    from pathlib import Path

    from flask import current_app, has_request_context, render_template

    css = ""
    if standalone:
        if current_app.static_folder is None:
            raise RuntimeError(
                "A standalone report inlines the app's static/css/report.css, and the app has no static folder."
            )
        css = (Path(current_app.static_folder) / "css" / "report.css").read_text("utf-8")
    if not has_request_context():  # freezing from the CLI or a job: render as an anonymous reader
        with current_app.test_request_context("/", headers={"Accept-Language": "en"}):
            return render_html(report, standalone=standalone)
    return render_template(
        "reports/report.html", report=report, standalone=standalone, report_css=css, **template_context(report)
    )


def template_context(report: Report) -> dict:
    """What the report template needs beside the report: its content, and its summary worded in
    the reader's language with the anchors of the statements it cites."""
    content = content_of(report)
    return {
        "content": content,
        "summary": report_summary.for_reader(content.get("summary")),
        "summary_statements": (content.get("summary") or {}).get("statements") or {},
        "anchor": report_summary.statement_anchor,
    }


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(report, standalone=True)).write_pdf()


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=PACKAGE_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build_package(report: Report) -> tuple[bytes, str]:
    """The transmission package: JSON, HTML, PDF, CSV tables and a manifest of their hashes."""
    files: dict[str, bytes] = {"report.json": report.content_json.encode("utf-8")}
    files["report.html"] = render_html(report, standalone=True).encode("utf-8")
    files["report.pdf"] = render_pdf(report)
    for name, text in csv_tables(content_of(report)).items():
        files[f"tables/{name}"] = text.encode("utf-8")
    manifest = {
        "schema": "agora.package/1",
        "report_id": report.id,
        "report_sha256": report.sha256,
        "title": report.title,
        "version": report.version,
        "files": {name: digest(data) for name, data in sorted(files.items())},
    }
    manifest_bytes = canonical(manifest)
    files["manifest.json"] = manifest_bytes
    return _zip_bytes(files), digest(manifest_bytes)
