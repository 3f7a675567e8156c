"""Offline submissions: a facilitator's CSV of field consultations, town halls, radio call-ins
and paper forms, imported through the same pipeline as every other view (submissions.submit).

All or nothing: every row is validated first; if any row is invalid nothing is imported and
every error is reported by line and column. A file already imported into the consultation adds
nothing (ImportBatch.sha256), and a row already imported from another file is not added again
(its key, "import:<sha256 of the normalised row>:<n>", is kept in Submission.external_ref).
"""

import csv
import hashlib
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import NoReturn, TypeVar

from babel import Locale, UnknownLocaleError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agora import permissions
from agora.extensions import db
from agora.i18n import N_
from agora.models import Consultation, ImportBatch, Submission, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services import geography, realtime
from agora.services.analysis import themes
from agora.services.errors import AgoraError, Closed, Forbidden, Invalid, NotFound, TooLarge
from agora.services.moderation import screening
from agora.services.participation import submissions
from agora.services.sanitize import clean_line, clean_text

log = logging.getLogger(__name__)
_T = TypeVar("_T")  # what a cell converts to

MAX_ROWS = 10_000
MAX_CLI_BYTES = 50 * 1024 * 1024  # the command line reads a file from disk; the web is limited by MAX_CONTENT_LENGTH
MAX_NOTE_CHARS = 1000
ORIGINS = {
    "field_consultation": N_("Field consultation"),
    "town_hall": N_("Town hall"),
    "radio": N_("Radio call-in"),
    "paper_form": N_("Paper form"),
    "other": N_("Other gathering"),
}
REQUIRED_COLUMNS = ("text", "channel")
OPTIONAL_COLUMNS = ("language", "constituency", "country", "gender", "date", "note")
# Spreadsheet headers people actually write, mapped to ours.
COLUMN_ALIASES = {
    "facilitator's note": "note",
    "facilitator_note": "note",
    "facilitator note": "note",
    "origin": "channel",
}
EXAMPLE_CSV = (
    "text,language,constituency,country,gender,channel,date,note\n"
    '"Our wells run dry in March; the plan must fund boreholes.",en,indigenous_peoples,KE,woman,field_consultation,2026-10-14,Turkana meeting\n'
    '"Les jeunes veulent être consultés avant la décision.",fr,youth,SN,man,radio,2026-10-20,Call-in on Radio Dakar\n'
)


@dataclass(frozen=True)
class RowError:
    """A problem in one cell: ``template`` (marked for translation, %(name)s placeholders) and its
    ``params``; ``message`` is the English text (CLI, API), pages show it in the reader's language."""

    line: int
    column: str
    template: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template


@dataclass
class ImportOutcome:
    """What happened: imported, already imported (the file or some rows), or refused with errors."""

    status: str  # imported | duplicate_file | invalid
    consultation_id: int | None = None
    batch_id: int | None = None  # plain values, not the ORM row: the outcome outlives its session
    batch_created_at: datetime | None = None
    batch_rows_imported: int = 0
    rows_total: int = 0
    imported: int = 0
    already_imported: list[int] = field(default_factory=list)  # line numbers
    empty_lines: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    published_ids: list[int] = field(default_factory=list)
    held_ids: list[int] = field(default_factory=list)


def _duplicate(batch: ImportBatch) -> ImportOutcome:
    return ImportOutcome(
        "duplicate_file",
        consultation_id=batch.consultation_id,
        batch_id=batch.id,
        batch_created_at=batch.created_at,
        batch_rows_imported=batch.rows_imported,
        rows_total=batch.rows_total,
    )


@dataclass(frozen=True)
class _Row:
    line: int
    text: str
    language: str | None
    constituency: str | None
    country: str | None
    gender: str | None
    origin: str
    created_at: datetime | None
    note: str | None

    def key(self) -> str:
        normal = [
            " ".join(self.text.split()).casefold(),
            self.language,
            self.constituency,
            self.country,
            self.gender,
            self.origin,
            self.created_at.date().isoformat() if self.created_at else None,
            " ".join((self.note or "").split()),
        ]
        return hashlib.sha256(json.dumps(normal, ensure_ascii=False).encode("utf-8")).hexdigest()


def _consultation_for(consultation_id: int, facilitator: User | None) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    # facilitator None: the command line, which acts with the secretariat's rights.
    if facilitator is not None and not permissions.can_facilitate(facilitator, consultation.id):
        raise Forbidden("Only the consultation's facilitators and the secretariat may import offline views.")
    if consultation.status != "open":
        raise Closed("This consultation is not open: offline views can only be imported while it is open.")
    return consultation


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # UTF-8, with or without the BOM spreadsheets add
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise Invalid(
            f"The file is not UTF-8 text (unexpected byte 0x{data[error.start]:02x} on line {line}). "
            "In your spreadsheet choose “Save as… CSV UTF-8”, then upload it again.",
            field="file",
            code="encoding",
        ) from None


def _language(value: str) -> str:
    """An ISO 639-1 or 639-3 code that Babel (CLDR) knows, in lower case."""
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if not code.isalpha() or len(code) not in (2, 3):
        raise ValueError
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        raise ValueError from None
    return code


def _country(value: str) -> str:
    found = geography.country(value.strip()) if len(value.strip()) == 2 else None
    if found is None:
        wanted = value.strip().casefold()
        found = next((c for c in geography.countries().values() if c.name.casefold() == wanted), None)
    if found is None:
        raise ValueError
    return found.code


def _date(value: str) -> datetime:
    value = value.strip()
    try:
        if "T" in value or " " in value:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            return parsed
        return datetime.combine(date.fromisoformat(value), time(12, 0))
    except ValueError:
        raise ValueError from None


def _header(fieldnames: list[str] | None) -> list[str]:
    if not fieldnames:
        raise Invalid(
            "The file is empty: it needs a header line (text,channel,…) and at least one row.",
            field="file",
            code="empty",
        )
    names = [COLUMN_ALIASES.get((n or "").strip().lower(), (n or "").strip().lower()) for n in fieldnames]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = [n or "(blank)" for n in names if n not in known]
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if duplicated:
        problems.append(f"repeated column{'s' if len(duplicated) > 1 else ''}: {', '.join(duplicated)}")
    if problems:
        raise Invalid(
            "Line 1 (header): "
            + "; ".join(problems)
            + f". The columns are {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} "
            "(text and channel required, the others optional).",
            field="file",
            code="columns",
        )
    return names


def parse(data: bytes, *, max_chars: int, max_rows: int = MAX_ROWS) -> tuple[list[_Row], list[RowError], list[int]]:
    """Read and check every row. Returns (rows, errors, empty line numbers); raises Invalid for the file as a whole."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many locales save "CSV" with semicolons or tabs: follow the header line.
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line.count(",") == 0 else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        names = _header(next(reader, None))
        raw_rows = []
        start = reader.line_num + 1
        for values in reader:
            raw_rows.append((start, values))  # the line where the row starts (quoted text may span lines)
            start = reader.line_num + 1
            if len(raw_rows) > max_rows:
                raise TooLarge(
                    f"The file has more than {max_rows:,} rows; split it into several files of at most {max_rows:,} rows.",
                    field="file",
                    code="too_many_rows",
                )
    except csv.Error as error:
        raise Invalid(
            f"Line {reader.line_num}: the file is not valid CSV ({error}).", field="file", code="csv"
        ) from None
    today = utcnow().date()
    rows, errors, empty = [], [], []
    for line, values in raw_rows:
        if not any(v.strip() for v in values):
            empty.append(line)
            continue
        if len(values) != len(names):
            errors.append(
                RowError(
                    line,
                    "(row)",
                    N_("has %(cells)s cells; the header has %(columns)s. Check for a missing or extra comma or quote."),
                    {"cells": len(values), "columns": len(names)},
                )
            )
            continue
        cells = dict(zip(names, values))
        row_errors = []

        def check(column: str, convert: Callable[[str], _T], message: str, **extra: str) -> _T | None:
            value = (cells.get(column) or "").strip()
            if not value:
                return None
            try:
                return convert(value)
            except (ValueError, AgoraError):
                row_errors.append(RowError(line, column, message, {"value": value, **extra}))
                return None

        view: str | None = None  # the row's text (``text`` is the file's)
        try:
            view = clean_text(cells.get("text"), max_chars=max_chars)
        except AgoraError as error:
            row_errors.append(RowError(line, "text", N_("is empty.") if error.code == "empty" else error.message))
        origin = (cells.get("channel") or "").strip().lower()
        if origin not in ORIGINS:
            row_errors.append(
                RowError(
                    line,
                    "channel",
                    N_("“%(value)s” is not a channel; use one of %(choices)s.")
                    if origin
                    else N_("is empty; use one of %(choices)s."),
                    {"value": origin, "choices": ", ".join(ORIGINS)},
                )
            )
        language = check(
            "language", _language, N_("“%(value)s” is not a known ISO 639 language code (e.g. en, fr, sw, quz).")
        )
        constituency = check(
            "constituency",
            lambda v: v.lower() if v.lower() in CONSTITUENCIES else _raise(),
            N_("“%(value)s” is not a constituency; use one of %(choices)s (or leave it empty)."),
            choices=", ".join(CONSTITUENCIES),
        )
        country = check(
            "country",
            _country,
            N_("“%(value)s” is not a country; use its ISO 3166 two-letter code (e.g. KE) or English name."),
        )
        gender = check(
            "gender",
            lambda v: v.lower() if v.lower() in GENDERS else _raise(),
            N_("“%(value)s” is not a gender value; use one of %(choices)s (or leave it empty)."),
            choices=", ".join(GENDERS),
        )
        created_at = check("date", _date, N_("“%(value)s” is not a date; write it as YYYY-MM-DD (e.g. 2026-10-14)."))
        if created_at is not None and created_at.date() > today:
            row_errors.append(
                RowError(line, "date", N_("%(value)s is in the future."), {"value": created_at.date().isoformat()})
            )
        note = None
        if (cells.get("note") or "").strip():
            try:
                note = clean_line(cells["note"], max_chars=MAX_NOTE_CHARS, field="note")
            except AgoraError as error:
                row_errors.append(RowError(line, "note", error.message))
        if row_errors or view is None:  # no text is always a row error
            errors.extend(row_errors)
            continue
        rows.append(_Row(line, view, language, constituency, country, gender, origin, created_at, note))
    if not rows and not errors:
        raise Invalid("The file has a header but no rows to import.", field="file", code="empty")
    return rows, errors, empty


def _raise() -> NoReturn:
    raise ValueError


def import_csv(
    consultation_id: int,
    facilitator: User | None,
    data: bytes,
    *,
    filename: str = "upload.csv",
    max_bytes: int | None = None,
    max_chars: int = submissions.MAX_CHARS_DEFAULT,
    max_rows: int = MAX_ROWS,
    announce: bool = True,
    _retried: bool = False,
) -> ImportOutcome:
    """Validate the whole file, then import every row in one transaction, or nothing.

    With announce=False the caller calls ``announce_batch(outcome)`` itself (the web runs the
    import in a native thread, off gevent's loop, and announces from the request's greenlet).
    """
    consultation = _consultation_for(consultation_id, facilitator)
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(
            f"The file is {len(data):,} bytes; the limit is {max_bytes:,} bytes. Split it into smaller files.",
            field="file",
        )
    digest = hashlib.sha256(data).hexdigest()
    earlier = db.session.scalar(
        select(ImportBatch).where(ImportBatch.consultation_id == consultation.id, ImportBatch.sha256 == digest)
    )
    if earlier is not None:
        return _duplicate(earlier)
    rows, errors, empty = parse(data, max_chars=max_chars, max_rows=max_rows)
    if errors:
        return ImportOutcome(
            "invalid",
            consultation_id=consultation.id,
            rows_total=len(rows) + len({e.line for e in errors}),
            errors=errors,
            empty_lines=empty,
        )

    keyed: list[tuple[_Row, str]] = []
    seen: dict[str, int] = {}
    for row in rows:
        base = row.key()
        seen[base] = seen.get(base, 0) + 1  # identical rows in one file are distinct people: number them
        keyed.append((row, f"import:{base}:{seen[base]}"))
    existing: set[str] = set()
    keys = [key for _row, key in keyed]
    for start in range(0, len(keys), 500):
        existing.update(
            db.session.scalars(
                select(Submission.external_ref).where(
                    Submission.consultation_id == consultation.id,
                    Submission.external_ref.in_(keys[start : start + 500]),
                )
            )
        )
    batch = ImportBatch(
        consultation_id=consultation.id,
        facilitator_id=facilitator.id if facilitator else None,
        filename=(filename or "upload.csv")[-300:],
        sha256=digest,
        rows_total=len(rows),
    )
    db.session.add(batch)
    outcome = ImportOutcome("imported", consultation_id=consultation.id, rows_total=len(rows), empty_lines=empty)
    created: list[Submission] = []
    try:
        db.session.flush()
        for row, key in keyed:
            if key in existing:
                outcome.already_imported.append(row.line)
                continue
            submission, _ = submissions.submit(
                consultation.id,
                None,
                row.text,
                channel="import",
                max_chars=max_chars,
                origin=row.origin,
                facilitator_note=row.note,
                import_batch_id=batch.id,
                external_ref=key,
                created_at=row.created_at,
                language=row.language,
                profile={"constituency": row.constituency, "country": row.country, "gender": row.gender},
                commit=False,
            )
            created.append(submission)
            outcome.states[submission.state] = outcome.states.get(submission.state, 0) + 1
        # Read before the commit expires them (reading after would reload every row).
        outcome.published_ids = [s.id for s in created if s.state == "published"]
        outcome.held_ids = [s.id for s in created if s.state != "published"]
        batch_id, batch_created_at = batch.id, batch.created_at
        batch.rows_imported = len(created)
        batch.rows_skipped = len(outcome.already_imported)
        batch.report_json = json.dumps(
            {
                "already_imported_lines": outcome.already_imported,
                "empty_lines": empty,
                "states": outcome.states,
            }
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        screening._indexes.pop(consultation.id, None)
        earlier = db.session.scalar(
            select(ImportBatch).where(ImportBatch.consultation_id == consultation.id, ImportBatch.sha256 == digest)
        )
        if earlier is not None:
            return _duplicate(earlier)  # a concurrent upload of the same file won
        if _retried:
            raise
        # A concurrent import of another file stored some of the same rows first: import again,
        # which now finds them and skips them.
        return import_csv(
            consultation_id,
            facilitator,
            data,
            filename=filename,
            max_chars=max_chars,
            max_rows=max_rows,
            max_bytes=max_bytes,
            announce=announce,
            _retried=True,
        )
    except Exception:
        db.session.rollback()
        # The near-duplicate index saw ids that were rolled back: rebuild it from the database.
        screening._indexes.pop(consultation.id, None)
        raise
    outcome.imported = outcome.batch_rows_imported = len(created)
    outcome.batch_id, outcome.batch_created_at = batch_id, batch_created_at
    if announce:
        announce_batch(outcome)
    return outcome


def announce_batch(outcome: ImportOutcome) -> None:
    """One event per batch (not one per row): the consultation's room, the moderators' room, and
    a debounced check whether the themes are due for a refit. Never raises: the data is committed."""
    if outcome.status != "imported" or not outcome.imported or outcome.consultation_id is None:
        return
    try:
        payload = {"consultation_id": outcome.consultation_id, "import_batch_id": outcome.batch_id}
        if outcome.published_ids:
            realtime.publish(
                realtime.consultation_room(outcome.consultation_id),
                "submission_published",
                {**payload, "id": outcome.published_ids[-1], "count": len(outcome.published_ids)},
            )
        if outcome.held_ids:
            realtime.notify_moderators({**payload, "count": len(outcome.held_ids)})
        themes.maybe_schedule(outcome.consultation_id, None)
    except Exception:
        db.session.rollback()
        log.exception("announcing import batch %s failed", outcome.batch_id)


def batches(consultation_id: int) -> list[ImportBatch]:
    return list(
        db.session.scalars(
            select(ImportBatch)
            .where(ImportBatch.consultation_id == consultation_id)
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
        )
    )
