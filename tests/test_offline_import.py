"""Offline views by CSV: the facilitator's upload page and `flask agora import`, all or nothing."""

import csv
import io
from datetime import datetime

from sqlalchemy import func, select

from agora.extensions import db
from agora.models import ImportBatch, ModerationDecision, Submission
from tests.conftest import civic_statements, csrf_from, login

HEADER = "text,language,constituency,country,gender,channel,date,note\n"


def _csv(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    out.write(header)
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _good_rows(n=3):
    texts = civic_statements(n)
    origins = ["field_consultation", "town_hall", "radio", "paper_form", "other"]
    return [
        [
            text,
            "en",
            "indigenous_peoples" if i % 2 else "youth",
            "KE" if i % 2 else "Senegal",
            "woman" if i % 2 else "man",
            origins[i % len(origins)],
            f"2026-10-{10 + i:02d}",
            f"Meeting {i}",
        ]
        for i, text in enumerate(texts)
    ]


def _facilitator(client, make, cid):
    make.user(email="facilitator@example.org", role="facilitator", scope=cid)
    login(client, "facilitator@example.org")


def _upload(client, slug, data: bytes, filename="views.csv"):
    token = csrf_from(client, f"/consultations/{slug}/import")
    return client.post(
        f"/consultations/{slug}/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _count(app, cid):
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)).where(Submission.consultation_id == cid))


def test_facilitator_imports_rows_as_screened_audited_submissions_with_their_snapshots(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    _facilitator(client, make, cid)
    rows = _good_rows(3)
    response = _upload(client, slug, b"\xef\xbb\xbf" + _csv(rows))  # UTF-8 with a BOM, as spreadsheets save it
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert "3 views imported from 3 rows" in html
    with app.app_context():
        found = db.session.scalars(
            select(Submission).where(Submission.consultation_id == cid).order_by(Submission.id)
        ).all()
        assert [s.text for s in found] == [r[0] for r in rows]
        first, second = found[0], found[1]
        assert {s.channel for s in found} == {"import"}
        assert [s.origin for s in found] == ["field_consultation", "town_hall", "radio"]
        assert (first.constituency, first.country, first.region, first.gender) == ("youth", "SN", "Africa", "man")
        assert (second.constituency, second.country, second.gender, second.global_south) == (
            "indigenous_peoples",
            "KE",
            "woman",
            True,
        )
        assert first.language == "en" and first.facilitator_note == "Meeting 0"
        assert first.created_at == datetime(2026, 10, 10, 12, 0)
        assert all(s.state == "published" and s.abuse_score is not None and s.model_version for s in found)
        assert all(s.external_ref.startswith("import:") and s.author_id is None for s in found)
        batch = db.session.scalars(select(ImportBatch)).one()
        assert {s.import_batch_id for s in found} == {batch.id}
        assert (batch.rows_total, batch.rows_imported, batch.filename) == (3, 3, "views.csv")
        audited = db.session.scalar(
            select(func.count(ModerationDecision.id)).where(
                ModerationDecision.submission_id.in_([s.id for s in found]), ModerationDecision.automatic.is_(True)
            )
        )
        assert audited == 3
    page = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "Participant (offline: town hall)" in page


def test_reuploading_the_same_file_or_its_rows_adds_nothing(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    _facilitator(client, make, cid)
    rows = _good_rows(3)
    assert _upload(client, slug, _csv(rows)).status_code == 200
    again = _upload(client, slug, _csv(rows), filename="copy.csv")
    assert again.status_code == 200
    assert "already imported" in again.get_data(as_text=True) and "nothing was added" in again.get_data(as_text=True)
    assert _count(app, cid) == 3
    # Another file that repeats two rows and adds one: only the new row is added.
    extra = civic_statements(4)[3]
    mixed = _upload(client, slug, _csv(rows[:2] + [[extra, "", "", "", "", "radio", "", ""]]), filename="more.csv")
    html = mixed.get_data(as_text=True)
    assert mixed.status_code == 200 and "1 views imported from 3 rows" in html
    assert "Already imported before, not added again: lines 2, 3." in html
    assert _count(app, cid) == 4


def test_identical_rows_in_one_file_are_distinct_people(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    text = civic_statements(1)[0]
    assert _upload(client, make.slug(cid), _csv([[text, "", "", "", "", "town_hall", "", ""]] * 2)).status_code == 200
    with app.app_context():
        refs = db.session.scalars(select(Submission.external_ref).where(Submission.consultation_id == cid)).all()
    assert len(set(refs)) == 2


def test_invalid_rows_are_all_reported_by_line_and_column_and_nothing_is_imported(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    good = _good_rows(1)[0]
    rows = [
        good,
        ["", "en", "", "", "", "radio", "", ""],  # line 3: empty text
        ["Water first.", "xx", "", "", "", "radio", "", ""],  # line 4: unknown language
        ["Water first.", "en", "farmers", "Atlantis", "robot", "radio", "", ""],  # line 5: three bad values
        ["Water first.", "en", "", "", "", "carrier_pigeon", "14/10/2026", ""],  # line 6: channel and date
        ["", "", "", "", "", "", "", ""],  # line 7: empty row, ignored
        ["Water first.", "en", "", "", "", "radio", "2999-01-01", ""],  # line 8: future date
    ]
    response = _upload(client, make.slug(cid), _csv(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in html
    for line, column, message in [
        (3, "text", "is empty."),
        (4, "language", "“xx” is not a known ISO 639 language code"),
        (5, "constituency", "“farmers” is not a constituency"),
        (5, "country", "“Atlantis” is not a country"),
        (5, "gender", "“robot” is not a gender value"),
        (6, "channel", "“carrier_pigeon” is not a channel"),
        (6, "date", "“14/10/2026” is not a date; write it as YYYY-MM-DD"),
        (8, "date", "2999-01-01 is in the future."),
    ]:
        assert f"<tr><td>{line}</td><td>{column}</td><td>{message}" in html, (line, column)
    assert "<tr><td>7</td>" not in html
    assert _count(app, cid) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportBatch.id))) == 0


def test_three_letter_language_codes_and_country_names_are_accepted(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    text = civic_statements(1)[0]
    response = _upload(client, make.slug(cid), _csv([[text, "quz", "", "peru", "", "paper_form", "2026-09-01", ""]]))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert (submission.language, submission.country, submission.origin) == ("quz", "PE", "paper_form")


def test_wrong_columns_are_refused_with_the_expected_list(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    response = _upload(client, make.slug(cid), b"texte,contry,channel\nWater first.,KE,radio\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 1 (header): missing column: text; unknown columns: texte, contry." in html
    assert 'aria-describedby="file-hint file-error"' in html and 'id="file-error"' in html
    assert _count(app, cid) == 0


def test_a_file_that_is_not_utf8_is_refused_with_the_line(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    latin1 = (HEADER + "Café pour tous,fr,,,,radio,,\n").encode("latin-1")
    response = _upload(client, make.slug(cid), latin1)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The file is not UTF-8 text (unexpected byte 0xe9 on line 2)" in html
    assert _count(app, cid) == 0


def test_ragged_rows_and_header_only_files_are_refused(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    _facilitator(client, make, cid)
    ragged = _upload(client, slug, (HEADER + "Water first,en,radio\n").encode())
    assert ragged.status_code == 422
    assert "<tr><td>2</td><td>(row)</td><td>has 3 cells; the header has 8." in ragged.get_data(as_text=True)
    empty = _upload(client, slug, HEADER.encode())
    assert empty.status_code == 422 and "The file has a header but no rows to import." in empty.get_data(as_text=True)
    assert _count(app, cid) == 0


def test_a_huge_upload_is_refused_before_it_is_read(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    _facilitator(client, make, cid)
    token = csrf_from(client, f"/consultations/{slug}/import")

    class HundredMegabytes(io.RawIOBase):
        """Says it holds 100 MB; fails the test if anyone reads it."""

        size, position = 100 * 1024 * 1024, 0

        def readable(self):
            return True

        def seekable(self):
            return True

        def tell(self):
            return self.position

        def seek(self, offset, whence=0):
            self.position = self.size + offset if whence == 2 else offset
            return self.position

        def readinto(self, buffer):
            raise AssertionError("the body of a too-large upload must not be read")

    boundary = "x"
    response = client.post(
        f"/consultations/{slug}/import",
        input_stream=HundredMegabytes(),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 413
    assert (
        "The file is larger than 2 MB: nothing was imported. Split it into files of at most 10,000 rows"
        in response.get_data(as_text=True)
    )
    assert _count(app, cid) == 0


def test_row_limit_is_enforced(app, make, ctx):
    from agora.services.errors import TooLarge
    from agora.services.participation import offline

    cid = make.consultation()
    data = _csv([["Water first.", "", "", "", "", "radio", "", ""]] * 6)
    try:
        offline.import_csv(cid, None, data, max_rows=5)
    except TooLarge as error:
        assert "more than 5 rows" in error.message
    else:
        raise AssertionError("six rows over a limit of five must be refused")
    assert db.session.scalar(select(func.count(Submission.id))) == 0


def test_participants_and_other_facilitators_may_not_import(client, make, app):
    cid = make.consultation()
    other = make.consultation("Another consultation")
    slug = make.slug(cid)
    make.user(email="elsewhere@example.org", role="facilitator", scope=other)
    login(client, "elsewhere@example.org")
    assert client.get(f"/consultations/{slug}/import").status_code == 403
    token = csrf_from(client, "/")
    response = client.post(
        f"/consultations/{slug}/import",
        data={"csrf_token": token, "file": (io.BytesIO(_csv(_good_rows(1))), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert _count(app, cid) == 0


def test_upload_without_csrf_token_is_refused(client, make, app):
    cid = make.consultation()
    _facilitator(client, make, cid)
    response = client.post(
        f"/consultations/{make.slug(cid)}/import",
        data={"file": (io.BytesIO(_csv(_good_rows(1))), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert _count(app, cid) == 0


def test_closed_consultation_refuses_imports(client, make, app):
    cid = make.consultation(status="closed")
    _facilitator(client, make, cid)
    response = _upload(client, make.slug(cid), _csv(_good_rows(1)))
    assert response.status_code == 409
    assert "not open" in response.get_data(as_text=True)
    assert _count(app, cid) == 0


def test_cli_import_prints_what_it_did(app, make, tmp_path):
    cid = make.consultation()
    slug = make.slug(cid)
    path = tmp_path / "radio.csv"
    path.write_bytes(_csv(_good_rows(2)))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agora", "import", slug, str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 of 2 rows into 'Oceans and plastics' as batch #" in result.output
    assert "2 published" in result.output
    again = runner.invoke(args=["agora", "import", slug, str(path)])
    assert again.exit_code == 0 and "radio.csv was already imported" in again.output and "nothing added" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([["Water first.", "en", "", "", "", "carrier_pigeon", "", ""]]))
    failed = runner.invoke(args=["agora", "import", slug, str(bad)])
    assert failed.exit_code != 0
    assert "line 2, channel: “carrier_pigeon” is not a channel" in failed.output
    assert "1 error(s) in 1 row(s): nothing imported." in failed.output
    assert _count(app, cid) == 2


def test_under_gevent_the_import_runs_in_a_native_thread_with_its_own_session(client, make, app, monkeypatch):
    import threading

    from gevent import monkey

    from agora.services.participation import offline

    seen = {}
    real_import = offline.import_csv

    def spy(*args, **kwargs):
        seen["thread"] = threading.current_thread()
        return real_import(*args, **kwargs)

    monkeypatch.setattr(monkey, "is_module_patched", lambda name: True)
    monkeypatch.setattr(offline, "import_csv", spy)
    cid = make.consultation()
    _facilitator(client, make, cid)
    response = _upload(client, make.slug(cid), _csv(_good_rows(2)))
    assert response.status_code == 200 and "2 views imported from 2 rows" in response.get_data(as_text=True)
    assert seen["thread"] is not threading.main_thread()
    assert _count(app, cid) == 2


def test_semicolon_separated_files_from_spreadsheets_are_read(app, make, ctx):
    from agora.services.participation import offline

    cid = make.consultation()
    text = civic_statements(1)[0].replace(";", ",")
    data = f"text;channel;country\n{text};radio;KE\n".encode()
    outcome = offline.import_csv(cid, None, data)
    assert (outcome.status, outcome.imported) == ("imported", 1)
    submission = db.session.scalars(select(Submission)).one()
    assert (submission.text, submission.origin, submission.country) == (text, "radio", "KE")


def test_people_without_an_account_count_as_participants(app, make):
    """Views gathered offline (one person each) and by SMS (one person per sender) count in the
    participation figures that pages and reports show."""
    from agora.services.participation import consultations, submissions

    cid = make.consultation()
    with app.app_context():
        for text in civic_statements(3):
            submissions.submit(
                cid, None, text, channel="import", origin="town_hall", profile={"constituency": "farmers"}
            )
        for sender, text in zip(("s1", "s1", "s2"), civic_statements(6)[3:]):
            submissions.submit(cid, None, text, channel="sms", sender_hash=sender)
        figures = consultations._count([cid])[cid]
        assert figures.participants == 3 + 2


def test_the_database_refuses_a_second_copy_of_an_imported_row(app, make):
    """Two imports running at once cannot both store the same row: the second copy is refused."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from agora.services.participation import submissions

    cid = make.consultation()
    first, second = civic_statements(2)
    with app.app_context():
        submissions.submit(cid, None, first, channel="import", external_ref="import:abc:1")
        with pytest.raises(IntegrityError):
            submissions.submit(cid, None, second, channel="import", external_ref="import:abc:1")
        db.session.rollback()
        assert db.session.scalar(select(func.count(Submission.id))) == 1


def test_a_french_facilitator_reads_the_line_errors_in_french(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    _facilitator(client, make, cid)
    rows = _good_rows(2)
    rows[1][6] = "14/10/2026"  # the date column
    token = csrf_from(client, f"/consultations/{slug}/import")
    response = client.post(
        f"/consultations/{slug}/import",
        data={"csrf_token": token, "file": (io.BytesIO(_csv(rows)), "views.csv")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "fr"},
    )
    html = response.get_data(as_text=True)
    assert "« 14/10/2026 » n&#39;est pas une date" in html or "« 14/10/2026 » n'est pas une date" in html, html[-3000:]
    assert _count(app, cid) == 0
