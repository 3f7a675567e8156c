"""Counts that agree with each other and a moderation record that adds up: one definition of a
participant on the home page, the consultation page, "who took part" and the report; "balance
unknown" when nobody declared a profile; the moderation tally says what every figure was."""

import re

from agora.extensions import db
from agora.models import Consultation, Submission, User
from agora.services import audit
from agora.services.analysis import opinions
from agora.services.participation import consultations, submissions
from agora.services.reporting import reports
from tests.conftest import civic_statements

ABUSIVE = "You are all worthless idiots and stupid bitches, shut up"


def _participants(html: str) -> set[int]:
    return {
        int(n.replace(",", "").replace("\u202f", "").replace("\xa0", ""))
        for n in re.findall(r"([\d,\u202f\xa0]+) participants", html)
    }


def test_one_number_of_participants_everywhere(app, client, make):
    cid = make.consultation("Water for all")
    texts = civic_statements(3)
    a, b = make.user(), make.user()
    held_author, rejected_author, voter_on_hidden, voter = make.user(), make.user(), make.user(), make.user()
    published = [make.submission(cid, a, texts[0]), make.submission(cid, b, texts[1])]
    make.submission(cid, held_author, ABUSIVE)  # held, never published: not in the public record
    hidden = make.submission(cid, rejected_author, texts[2])
    with app.app_context():
        submissions.vote(published[0], db.session.get(User, voter), "agree")
        submissions.vote(hidden, db.session.get(User, voter_on_hidden), "agree")
        db.session.get(Submission, hidden).state = "hidden"  # e.g. hidden after reports
        db.session.commit()
        counts = consultations.counts([cid])[cid]
        balance = opinions.balance(cid)
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        content = reports.build(cid)
    expected = 3  # a and b wrote published views, the voter voted on one
    assert counts.participants == expected and counts.views == 2 and counts.votes == 1
    assert balance["totals"]["everyone"] == expected
    assert content["participation"]["participants"] == expected
    slug = make.slug(cid)
    assert _participants(client.get(f"/consultations/{slug}").get_data(as_text=True)) == {expected}


def test_balance_unknown_when_nobody_declared_a_profile(app, client, make):
    cid = make.consultation("Water for all")
    for text in civic_statements(3):
        make.submission(cid, make.user(), text)
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        content = reports.content_of(report)
    balance = content["participation"]["balance"]
    assert balance["known"] is False and balance["verdict"] == "unknown"
    assert balance["declared"] == {"constituency": 0, "country": 0, "gender": 0}
    assert any(w.startswith("Balance unknown") for w in balance["warnings"])
    html = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "Balance unknown." in html and "None of the 3 participants declared" in html
    assert "Participants by constituency" not in html and "Participants by gender" not in html


def test_who_took_part_page_says_balance_unknown_instead_of_tables_of_not_stated(app, client, make):
    """The public "who took part" page, like the report: nobody declared a profile, so no table of
    "not stated 100 %" but the verdict; a dimension nobody declared is said in a sentence."""
    cid = make.consultation("Агентство по воде")
    for text in ["Нужны чистые колодцы в каждой деревне.", "يجب حماية مصادر المياه الجوفية.", "保护河流需要社区参与。"]:
        make.submission(cid, make.user(), text)
    slug = make.slug(cid)
    html = client.get(f"/consultations/{slug}/balance").get_data(as_text=True)
    assert "Balance unknown." in html and "None of the 3 participants declared" in html
    assert 'class="balance"' not in html and "Participants by constituency" not in html
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.create_draft(cid, None)
        summary = reports.content_of(report)["summary"]
    assert [c["kind"] for c in summary["claims"] if c["section"] == "who"][:2] == ["participation", "balance_unknown"]
    other = make.consultation("Eau pour tous")
    for i, text in enumerate(["L’eau potable est un droit.", "El agua es un bien común.", "Water is life."]):
        make.submission(other, make.user(constituency="ngo" if i else None), text)
    html = client.get(f"/consultations/{make.slug(other)}/balance").get_data(as_text=True)
    assert "Balance unknown." not in html and "Participants by constituency" in html
    assert "No participant declared a gender." in html and "Participants by gender" not in html
    assert "No participant declared a country: no breakdown by region or by Global South and North." in html
    assert "Participants by region" not in html


def test_balance_is_stated_with_how_many_declared(app, client, make):
    cid = make.consultation("Water for all")
    for i, text in enumerate(civic_statements(4)):
        make.submission(cid, make.user(constituency="ngo" if i < 3 else None, country="KE" if i < 2 else None), text)
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        balance = reports.content_of(report)["participation"]["balance"]
    assert balance["known"] is True and balance["verdict"] == "dominated"
    assert balance["declared"] == {"constituency": 3, "country": 2, "gender": 0}
    html = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "Declared by 3 of 4 participants (constituency), 2 (country), 0 (gender)" in html
    assert "Participants by constituency" in html and "Participants by region (UN M49)" in html
    assert (
        "No participant declared a gender." in html and "Participants by gender" not in html
    )  # no table of "not stated 100 %"


def test_the_moderation_record_adds_up_for_a_reader(app, client, make):
    cid = make.consultation("Water for all")
    mod = make.user(email="mod@example.org", role="moderator")
    texts = civic_statements(4)
    published = [make.submission(cid, make.user(), t) for t in texts[:2]]
    held = [make.submission(cid, make.user(), ABUSIVE + f" {i}") for i in range(3)]
    with app.app_context():
        # two views that arrived hidden by the moderators of the platform they were imported from
        for text in texts[2:]:
            s = Submission(consultation_id=cid, kind="view", text=text, state="hidden", channel="import")
            db.session.add(s)
            db.session.flush()
            audit.record(
                submission_id=s.id,
                actor_id=None,
                automatic=True,
                action="hide",
                from_state=None,
                to_state="hidden",
                reason="imported: Pol.is moderation",
            )
        db.session.commit()
        from agora.services import moderation

        moderator = db.session.get(User, mod)
        moderation.decide(moderator, held[0], "approve", "within_rules")
        moderation.decide(moderator, held[1], "reject", "abuse")
        moderation.flag(db.session.get(User, make.user()), published[0], "off_topic")
        moderation.decide(moderator, published[0], "hide", "off_topic")
        t = moderation.transparency(cid)
    assert (t.received, t.screened, t.published_at_once, t.held, t.hidden_at_import) == (7, 5, 2, 3, 2)
    assert (t.approved, t.hidden, t.rejected, t.after_reports, t.kept, t.waiting) == (1, 1, 1, 1, 0, 1)
    assert t.received == t.published_at_once + t.held + t.hidden_at_import + t.unscreened
    assert t.held == t.approved + (t.hidden + t.rejected - t.after_reports) + t.waiting
    page = client.get(f"/consultations/{make.slug(cid)}").get_data(as_text=True)
    page = " ".join(page.split())
    assert "7 submissions received: 5 screened by the model (2 published at once, 3 held for review)." in page
    assert "2 more arrived already hidden by the moderators of the platform they were imported from" in page
    assert (
        "Decided by moderators: 1 approved after review, 1 hidden and 1 rejected (1 of these had been published and were "
        "reported by participants), 0 reported but kept published; 1 waiting for a decision; 0 restored on appeal."
    ) in page


def test_the_consultation_header_counts_the_views_it_lists_not_hearing_messages(app, client, make):
    """The header's "views" are the views the page lists; a hearing's messages are read in its
    transcript. They stay in the public record: their authors are participants, and the report
    counts them among its published submissions."""
    from agora.models import Hearing
    from agora.services import hearings

    cid = make.consultation("Oceans and plastics")
    make.submission(cid, make.user(), "Fishing quotas must follow the science.")
    chair, speakers = make.user(), [make.user(), make.user()]
    with app.app_context():
        hearing = hearings.create(cid, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair), None)
        hearings.open_hearing(hearing, db.session.get(User, chair))
        hearing = db.session.get(Hearing, hearing.id)
        for speaker, text in zip(
            speakers, ["Stop plastic waste from reaching the rivers.", "Los ríos necesitan ayuda."]
        ):
            assert hearings.post_message(hearing, db.session.get(User, speaker), text).state == "published"
        hearings.post_chair_summary(hearing, db.session.get(User, chair), "Two concerns: rivers and plastic.")
        counts = consultations.counts([cid])[cid]
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        participation = reports.build(cid)["participation"]
    assert (counts.views, counts.participants) == (1, 3)
    assert (participation["submissions"], participation["participants"]) == (3, 3)  # the report's, as they were
    slug = make.slug(cid)
    for lang, views, participants in (("en", "1 view", "3 participants"), ("es", "1 opinión", "3 participantes")):
        html = client.get(f"/consultations/{slug}?lang={lang}").get_data(as_text=True)
        header = re.search(r'<p class="counts" id="consultation-counts">(.*?)</p>', html).group(1)
        assert views in header and participants in header, (lang, header)
        assert len(re.findall(r'<li id="s\d+" class="view">', html)) == 1
