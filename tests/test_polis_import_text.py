"""A Pol.is export's texts go through the sanitiser every other text goes through: a row holding
bytes that are not UTF-8, a text too long or empty, a bad id, is refused by itself with its line
named, and the other rows (in six languages) are imported, cleaned like any view."""

from agora.extensions import db
from agora.models import Submission, Vote
from agora.services.participation import imports

HEADER = b"timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
GOOD = [
    "Public transport should reach every rural village.",
    "يجب أن تصل المياه النظيفة إلى كل قرية.",
    "每个村庄都应该有干净的饮用水。",
    "Chaque village doit avoir accès à l'eau potable.",
    "Каждая деревня должна иметь доступ к чистой воде.",
    "Cada aldea debe tener acceso a agua potable.",
]


def _folder(tmp_path, rows: list[bytes], participants: list[bytes]):
    folder = tmp_path / "polis"
    folder.mkdir()
    (folder / "comments.csv").write_bytes(HEADER + b"".join(rows))
    votes = (
        b"participant,group-id,n-comments,n-votes,n-agree,n-disagree,"
        + b",".join(str(n).encode() for n in range(12))
        + b"\n"
    )
    (folder / "participants-votes.csv").write_bytes(votes + b"".join(participants))
    return folder


def _row(n: int, text: bytes, author: bytes = b"1") -> bytes:
    return b'16000000%02d000,,%d,%s,0,0,1,"%s"\n' % (n, n, author, text)


def test_a_bad_row_of_a_polis_export_is_refused_alone_and_the_others_are_sanitised(app, tmp_path):
    rows = [_row(n, text.encode()) for n, text in enumerate(GOOD)]
    rows += [
        _row(6, b"Clean water \xed\xa0\x80 for all."),  # a UTF-8-encoded surrogate: not UTF-8
        _row(7, b"Cheap \xff\xfe fares."),  # bytes that are not UTF-8 at all
        _row(8, b"   "),  # nothing left to read
        _row(9, b"x" * 6000),  # over the limit of a view
        _row(10, b"A fair point.", author=b"\xc2\xb2"),  # '\u00b2': str.isdigit() says yes, int() says no
        # control characters and a bidi override are removed, the text normalised (NFC), as for any view
        _row(11, "Le re\u0301seau \u202ede bus\u202c doit\x07 s'e\u0301tendre.".encode()),
    ]
    participants = [b"1,0,12,2,2,0,1,1,,,,,,,,,,\n", b"\xff,0,0,0,0,0,1,,,,,,,,,,,\n", b"2,0,0,1,0,1,-1,,,,,,,,,,,-1\n"]
    with app.app_context():
        consultation, result = imports.import_polis_consultation(
            _folder(tmp_path, rows, participants), title="Villages"
        )
        texts = (
            db.session.query(Submission.text)
            .filter_by(consultation_id=consultation.id)
            .order_by(Submission.external_ref)
            .all()
        )
        stored = sorted(t for (t,) in texts)
        assert stored == sorted([*GOOD, "Le réseau de bus doit s'étendre."])
        assert all(text.encode("utf-8") for text in stored)
        assert result.statements == 7 and result.participants == 2
        assert (
            db.session.query(Vote).count() == 4
        )  # participant 1 on comments 0 and 1, participant 2 on 0 and 11 (the cleaned one)
    lines = "\n".join(result.skipped_rows)
    for line in (8, 9, 10, 11, 12):
        assert f"comments.csv line {line}:" in lines
    assert "comments.csv line 8: The text holds an invalid character" in lines
    assert "comments.csv line 11: The text is 6,000 characters long" in lines
    assert "comments.csv line 12: bad id" in lines
    assert "participants-votes.csv line 3: bad participant id" in lines
    assert len(result.skipped_rows) == 6
