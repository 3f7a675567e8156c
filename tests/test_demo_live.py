"""`flask agora demo hearing` without a server: the simulated participants act through the same
services the socket handlers call, and what they did is in the database (messages in several
languages, votes, requests for the floor)."""

import re

from sqlalchemy import func, select

from agora.extensions import db
from agora.models import SpeakerRequest, Submission, Vote


def _hearing(app, make, state="live"):
    from agora.services import hearings
    from agora.services.accounts import accounts

    cid = make.consultation(title="Water review", stage="hearing")
    chair = make.user(email="chair@example.org")
    with app.app_context():
        hearing = hearings.create(cid, "Progress review: water")
        user = accounts.get_user(chair)
        hearings.appoint_chair(hearing, user, None)
        if state == "live":
            hearings.open_hearing(hearing, user)
        return hearing.id


def test_the_player_posts_votes_and_asks_for_the_floor_through_the_services(app, make):
    hid = _hearing(app, make)
    result = app.test_cli_runner().invoke(
        args=[
            "agora",
            "demo",
            "hearing",
            "--no-server",
            "--hearing",
            str(hid),
            "--count",
            "30",
            "--people",
            "6",
            "--seed",
            "4",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "through the services with 6 participants" in result.output and "Done:" in result.output
    with app.app_context():
        languages = set(db.session.scalars(select(Submission.language).where(Submission.hearing_id == hid)))
        votes = db.session.scalar(
            select(func.count(Vote.id))
            .join(Submission, Submission.id == Vote.submission_id)
            .where(Submission.hearing_id == hid)
        )
        requests = db.session.scalar(select(func.count(SpeakerRequest.id)).where(SpeakerRequest.hearing_id == hid))
    assert len(languages) >= 4, (languages, result.output)  # several of ar, en, es, fr, ru, zh
    published, held, voted, asked, refused = map(
        int,
        re.search(
            r"Done: (\d+) messages published, (\d+) held for a moderator, (\d+) votes, (\d+) requests for the floor, (\d+) refused",
            result.output,
        ).groups(),
    )
    assert published + held + voted + asked + refused == 30
    assert (votes, requests) == (voted, asked) and published >= 6 and voted >= 1 and asked >= 1, result.output


def test_the_player_refuses_a_hearing_that_is_not_live(app, make):
    hid = _hearing(app, make, state="scheduled")
    result = app.test_cli_runner().invoke(args=["agora", "demo", "hearing", "--no-server", "--hearing", str(hid)])
    assert result.exit_code != 0 and "not live" in result.output
