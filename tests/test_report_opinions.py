"""The report's opinion groups carry their direction: every representative statement says whether
its group agrees or disagrees, with the group's agree / disagree / pass shares beside everyone's,
exactly as the opinions page computes them, and each group has one name (its letter) everywhere."""

import csv
import io
import json
import random

import pytest

from agora.extensions import db
from agora.models import Consultation, Submission, User, Vote
from agora.services.analysis import opinions
from agora.services.reporting import reports
from tests.conftest import civic_statements


@pytest.fixture
def divided(app, make):
    """Two camps of 14 voters each: camp one agrees with statements 0-5 and disagrees with 6-11,
    camp two the opposite (with some noise and passes), as in the demo's fairness ordinance."""
    cid = make.consultation("Fairness ordinance")
    texts = civic_statements(12)
    rng = random.Random(7)
    with app.app_context():
        ids = []
        for text in texts:
            submission = Submission(consultation_id=cid, kind="view", text=text, state="published", channel="import")
            db.session.add(submission)
            db.session.flush()
            ids.append(submission.id)
        for person in range(28):
            user = User(display_name=f"Voter {person}", constituency="ngo" if person % 2 else None)
            db.session.add(user)
            db.session.flush()
            camp = person < 14
            for i, sid in enumerate(ids):
                leans = 1 if (i < 6) == camp else -1
                value = 0 if rng.random() < 0.1 else (leans if rng.random() < 0.9 else -leans)
                db.session.add(Vote(submission_id=sid, user_id=user.id, value=value))
        db.session.commit()
        opinions.refit(cid)  # the opinions page's snapshot
        page = opinions.page(cid)["summary"]["vote"]
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
    return cid, ids, page


def test_every_representative_statement_carries_its_direction_and_shares_as_the_page_computes_them(
    app, client, divided
):
    cid, ids, page = divided
    assert len(page["groups"]) == 2
    with app.app_context():
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        content = json.loads(report.content_json)
        report_id, package = report.id, report.package
    groups = content["opinions"]["groups"]
    assert sorted(g["letter"] for g in groups) == ["A", "B"] and {g["name"] for g in groups} == {"Group A", "Group B"}
    page_groups = {opinions.group_letter(g["key"]): g for g in page["groups"]}
    directions, compared = {}, 0
    for group in groups:
        assert group["representative"], group
        page_items = {item["id"]: item for item in page_groups[group["letter"]]["representative"]}
        for item in group["representative"]:
            assert item["direction"] in ("agree", "disagree")
            own, everyone = item["group"], item["everyone"]
            assert set(own) == set(everyone) == {"votes", "agree", "disagree", "pass"}
            assert own["agree"] + own["disagree"] + own["pass"] == pytest.approx(1.0, abs=1e-3)
            # the group leans the way it is said to, more than everyone does
            assert own[item["direction"]] > everyone[item["direction"]]
            on_page = page_items.get(item["submission_id"])
            if on_page is not None:  # the same statement on the page: the same direction and shares
                assert on_page["direction"] == item["direction"]
                key = page_groups[group["letter"]]["key"]
                assert (
                    on_page["groups"][key]["agree"] == own["agree"]
                    and on_page["groups"][key]["disagree"] == own["disagree"]
                )
                assert on_page["agree"] == everyone["agree"] and on_page["disagree"] == everyone["disagree"]
                compared += 1
            directions[(group["letter"], item["submission_id"])] = item["direction"]
    assert compared >= 4
    # the two camps lean opposite ways on the statements they share
    shared = {sid for letter, sid in directions if letter == "A"} & {sid for letter, sid in directions if letter == "B"}
    assert all(directions[("A", sid)] != directions[("B", sid)] for sid in shared)

    html = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "Group A" in html and "Group B" in html and "Opinion group 1" not in html
    a = next(g for g in groups if g["letter"] == "A")
    first = a["representative"][0]
    assert f"{first['group'][first['direction']] * 100:.0f} %" in html and "agree · disagree · pass" in html

    tables = reports.csv_tables(content)
    rows = list(csv.DictReader(io.StringIO(tables["opinion_group_statements.csv"])))
    assert {(r["group"], int(r["submission_id"])) for r in rows} == set(directions)
    assert all(r["direction"] == directions[(r["group"], int(r["submission_id"]))] for r in rows)
    assert {r["group"] for r in csv.DictReader(io.StringIO(tables["opinion_groups.csv"]))} == {"A", "B"}
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(package))  # the package's HTML (the PDF is made from it) and tables
    standalone = archive.read("report.html").decode()
    assert "Group A" in standalone and "agree · disagree · pass" in standalone
    assert "tables/opinion_group_statements.csv" in archive.namelist()
