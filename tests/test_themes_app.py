"""Themes and opinion groups in the app: snapshots, placement, background refits, pages, Pol.is CSVs."""

import csv
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agora.extensions import db
from agora.models import Consultation, Hearing, Submission, ThemeSnapshot, User, Vote
from agora.services.analysis import opinions, themes
from tests.conftest import civic_statements

POLIS = Path(__file__).resolve().parent.parent / "data" / "polis"


@pytest.fixture(autouse=True)
def _fresh_theme_state(app):
    """Caches and settings of this module never leak into other tests."""
    saved = {
        k: app.config.get(k)
        for k in (
            "THEMES_AUTO_REFIT",
            "JOBS_BACKEND",
            "THEMES_DEBOUNCE_SECONDS",
            "THEMES_MIN_INTERVAL_SECONDS",
            "OPINIONS_CHECK_SECONDS",
        )
    }
    themes.reset_caches()
    opinions._CHECKED.clear()
    yield
    for key, value in saved.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = value
    themes.reset_caches()
    opinions._CHECKED.clear()


def _publish(app, consultation_id, texts, *, profiles=None, hearing_id=None, start=datetime(2026, 1, 5)):
    """Published views inserted directly (no screening), a few hours apart, with profile snapshots."""
    with app.app_context():
        ids = []
        for i, text in enumerate(texts):
            profile = profiles[i % len(profiles)] if profiles else {}
            submission = Submission(
                consultation_id=consultation_id,
                hearing_id=hearing_id,
                kind="message" if hearing_id else "view",
                text=text,
                state="published",
                channel="import",
                created_at=start + timedelta(hours=7 * i),
                **profile,
            )
            db.session.add(submission)
            db.session.flush()
            ids.append(submission.id)
        db.session.commit()
        return ids


def _refit(app, consultation_id, hearing_id=None):
    with app.app_context():
        snapshot = themes.refit(consultation_id, hearing_id)
        return (snapshot.id, snapshot.status) if snapshot is not None else None


def _snapshots(app, kind="themes"):
    with app.app_context():
        return list(
            db.session.execute(
                select(ThemeSnapshot.id, ThemeSnapshot.status, ThemeSnapshot.error)
                .where(ThemeSnapshot.kind == kind)
                .order_by(ThemeSnapshot.id)
            ).all()
        )


NGO_AFRICA = {"constituency": "ngo", "region": "Africa", "global_south": True, "gender": "woman"}
ACADEMIA = {"constituency": "academia", "region": "Europe", "global_south": False, "gender": None}
NOTHING = {}


def test_pages_of_an_empty_consultation_say_so_and_unknown_ones_are_404(client, make):
    slug = make.slug(make.consultation())
    assert "No views have been published yet" in client.get(f"/consultations/{slug}/themes").get_data(as_text=True)
    assert "No opinion groups yet" in client.get(f"/consultations/{slug}/opinions").get_data(as_text=True)
    assert "Nobody has taken part yet" in client.get(f"/consultations/{slug}/balance").get_data(as_text=True)
    draft = make.slug(make.consultation("Secret draft", status="draft"))
    for page in ("themes", "opinions", "balance"):
        assert client.get(f"/consultations/no-such-thing/{page}").status_code == 404
        assert client.get(f"/consultations/{draft}/{page}").status_code == 404
    for hearing in ("999", "99999999999999999999", "-1"):
        assert client.get(f"/consultations/{slug}/themes?hearing={hearing}").status_code == 404


def test_a_snapshot_is_stored_and_the_themes_page_shows_it(app, client, make):
    cid = make.consultation()
    slug = make.slug(cid)
    ids = _publish(app, cid, civic_statements(40), profiles=[NGO_AFRICA, NGO_AFRICA, NGO_AFRICA, ACADEMIA, NOTHING])
    assert _refit(app, cid)[1] == "ready"
    with app.app_context():
        theme_of = dict(
            db.session.execute(select(Submission.id, Submission.theme_id).where(Submission.id.in_(ids))).all()
        )
        assert None not in theme_of.values()
        summary = themes.latest_summary(cid)
    assert summary["status"] == "ready" and summary["n"] == 40 and summary["themes"]
    first = summary["themes"][0]
    assert set(first) == {"id", "label", "labels", "languages", "terms", "size", "share", "quotes", "trend"}
    quoted = [q["id"] for q in first["quotes"]]
    # a reader sees at least QUOTES different views of the theme (or all of a small one), each one
    # of the theme's own views, never a view of another theme
    assert len(set(quoted)) == len(quoted) >= min(themes.QUOTES, first["size"])
    assert all(theme_of[i] == first["id"] for i in quoted), (quoted, first["id"])
    assert first["trend"] in themes.TRENDS
    assert sum(t["size"] for t in summary["themes"]) + summary["other"] == 40

    response = client.get(f"/consultations/{slug}/themes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<svg class="theme-map"' in html and '<title id="map-title">' in html and '<desc id="map-desc">' in html
    assert "Representative views" in html and "Not stated" in html and "Global South" in html
    assert "One constituency dominates" in html  # NGOs wrote 3 of every 4 declared views
    assert "style=" not in html and "<script>" not in html
    quote = first["quotes"][0]["id"]
    with app.app_context():
        page = themes.listing_page(quote, cid, app.config["PAGE_SIZE"])
    expected = f"/consultations/{slug}" + (f"?page={page}" if page > 1 else "") + f"#s{quote}"
    assert f'href="{expected}"' in html
    # the consultation page links to the analyses
    assert f'href="/consultations/{slug}/themes"' in client.get(f"/consultations/{slug}").get_data(as_text=True)


def test_new_views_are_embedded_then_placed_from_memory_and_a_refit_follows(app, make, monkeypatch):
    """A new view is embedded by the background job right after it is stored (inline here), which
    places it in the nearest theme with the snapshot kept in memory."""
    from moderation.themes import ThemeSet

    app.config.update(
        THEMES_AUTO_REFIT=True,
        JOBS_BACKEND="inline",
        THEMES_DEBOUNCE_SECONDS=0,
        THEMES_MIN_INTERVAL_SECONDS=0,
        EMBEDDINGS_AUTO=True,
        EMBEDDINGS_DEBOUNCE_SECONDS=0,
    )
    cid = make.consultation()
    texts = civic_statements(33)
    _publish(app, cid, texts[:30])
    assert _refit(app, cid)[1] == "ready"  # 30 views: the next refit is due after 3 new ones
    loads = []
    real = ThemeSet.from_dict.__func__
    monkeypatch.setattr(ThemeSet, "from_dict", classmethod(lambda cls, data: loads.append(1) or real(cls, data)))
    authors = [make.user() for _ in range(3)]
    first = make.submission(cid, authors[0], texts[30])
    with app.app_context():
        placed = db.session.get(Submission, first)
        assert placed.state == "published" and placed.theme_id is not None
    assert loads == []  # the placement model came from memory, not from the stored JSON
    assert len(_snapshots(app)) == 1
    make.submission(cid, authors[1], texts[31])
    make.submission(cid, authors[2], texts[32])
    snaps = _snapshots(app)
    assert [s.status for s in snaps] == ["ready", "ready"]
    with app.app_context():
        one, two = (themes.snapshot_data(db.session.get(ThemeSnapshot, s.id))["summary"] for s in snaps)
        assert (
            db.session.scalar(
                select(func.count()).where(Submission.consultation_id == cid, Submission.theme_id.is_(None))
            )
            == 0
        )
        assert opinions.refit_due(cid)[0] is False  # nobody voted
    # stable identities: the second run keeps ids of the first
    assert {t["id"] for t in one["themes"]} & {t["id"] for t in two["themes"]}


def test_a_failed_refit_is_recorded_and_the_previous_snapshot_stays_in_use(app, client, make, monkeypatch):
    cid = make.consultation()
    slug = make.slug(cid)
    _publish(app, cid, civic_statements(15))
    good = _refit(app, cid)
    with app.app_context():
        label = themes.latest_summary(cid)["themes"][0]["label"]

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("moderation.themes.fit", broken)
    failed = _refit(app, cid)
    assert failed[1] == "failed"
    assert _snapshots(app)[-1].error == "RuntimeError: out of memory"
    with app.app_context():
        assert themes.latest_summary(cid)["snapshot_id"] == good[0]
        assert themes.refit_due(cid) == (False, "the last computation failed less than 5 minutes ago")
    html = client.get(f"/consultations/{slug}/themes").get_data(as_text=True)
    assert "failed; the previous analysis is shown" in html
    assert str(__import__("markupsafe").escape(label)) in html


def test_a_running_computation_is_not_started_twice(app, make):
    cid = make.consultation()
    _publish(app, cid, civic_statements(8))
    with app.app_context():
        themes.start_snapshot(cid, None, "themes")
        assert themes.refit(cid) is None
        assert themes.refit_due(cid) == (False, "a computation is running")
        assert themes.page(cid)["running"] is True


@pytest.mark.parametrize(
    "texts",
    [
        ["Clean water for every village school."],
        ["Clean water for every village school."] * 8,
        [
            "يجب توفير المياه النظيفة لكل مدرسة في القرى",
            "每个乡村学校都应该有干净的饮用水",
            "Каждой сельской школе нужна чистая питьевая вода",
            "हर गांव के स्कूल में साफ पानी होना चाहिए",
            "โรงเรียนในหมู่บ้านทุกแห่งต้องมีน้ำสะอาด",
            "💧🏫🙏",
            "Clean water for every village school.",
            "!!!",
            "12345",
        ],
    ],
    ids=["one-text", "identical-texts", "several-scripts"],
)
def test_awkward_corpora_give_a_snapshot_and_pages_not_errors(app, client, make, texts):
    cid = make.consultation()
    slug = make.slug(cid)
    _publish(app, cid, texts)
    assert _refit(app, cid)[1] == "ready"
    for page in ("themes", "opinions", "balance"):
        assert client.get(f"/consultations/{slug}/{page}").status_code == 200
    with app.app_context():
        assert themes.latest_summary(cid)["n"] == len(texts)


def test_hearing_themes_are_kept_apart_from_the_consultation(app, client, make):
    cid = make.consultation()
    slug = make.slug(cid)
    with app.app_context():
        hearing = Hearing(consultation_id=cid, title="Review session")
        db.session.add(hearing)
        db.session.commit()
        hid = hearing.id
    _publish(app, cid, civic_statements(12), hearing_id=hid)
    assert _refit(app, cid, hid)[1] == "ready"
    with app.app_context():
        assert themes.latest_summary(cid, hid)["n"] == 12
        assert themes.latest_summary(cid)["status"] == "none"
    assert "Themes in the hearing" in client.get(f"/consultations/{slug}/themes?hearing={hid}").get_data(as_text=True)


def _polis_subset(folder: Path, n_comments=40, n_participants=150) -> tuple[list[str], int]:
    """A small real Pol.is export: the first accepted statements and the most active voters on them."""
    with (POLIS / "comments.csv").open(encoding="utf-8") as handle:
        comments = [r for r in csv.DictReader(handle) if r["moderated"] == "1"]
    comments.sort(key=lambda r: int(r["comment-id"]))
    comments = comments[:n_comments]
    keep = [r["comment-id"] for r in comments]
    with (POLIS / "participants-votes.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fixed = reader.fieldnames[:6]
        rows = [r for r in reader if sum(r[c] in ("1", "-1", "0") for c in keep) >= 7]
    rows = rows[:n_participants]
    folder.mkdir()
    with (folder / "comments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(comments[0]))
        writer.writeheader()
        writer.writerows(comments)
    with (folder / "participants-votes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fixed + keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    votes = sum(r[c] in ("1", "-1", "0") for r in rows for c in keep)
    return keep, votes


def test_polis_import_opinion_groups_consensus_across_constituencies_and_export(app, client, tmp_path):
    keep, n_votes = _polis_subset(tmp_path / "bg")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agora", "polis", "import", str(tmp_path / "bg"), "--title", "Bowling Green subset"])
    assert result.exit_code == 0, result.output
    assert f"{n_votes:,} votes" in result.output
    assert "Embedded " in result.output  # the import embedded its statements in batches, saying so
    with app.app_context():
        consultation = db.session.scalar(select(Consultation).where(Consultation.title == "Bowling Green subset"))
        cid, slug = consultation.id, consultation.slug
        from agora.models import SubmissionVector

        stored = db.session.scalar(
            select(func.count()).select_from(SubmissionVector).where(SubmissionVector.consultation_id == cid)
        )
        assert stored == db.session.scalar(select(func.count()).where(Submission.consultation_id == cid)) > 0
        assert consultation.status == "open"
        # give the imported participants declared profiles, alternating two constituencies and regions
        users = db.session.scalars(select(User).where(User.kind == "imported").order_by(User.id)).all()
        for i, user in enumerate(users):
            user.constituency, user.country = ("ngo", "KE") if i % 3 else ("private_sector", "DE")
        db.session.commit()
        snapshot = opinions.refit(cid)
        assert snapshot.status == "ready"
        summary = themes.snapshot_data(snapshot)["summary"]
    assert summary["votes"] <= n_votes and summary["vote"]["groups"]
    assert sum(g["size"] for g in summary["vote"]["groups"]) == summary["vote"]["placed"]
    assert {g["key"] for g in summary["constituency"]["groups"]} == {"ngo", "private_sector"}
    assert {g["key"] for g in summary["region"]["groups"]} == {"Africa", "Europe"}
    for item in summary["vote"]["consensus"]:
        assert all(cell["agree"] > 0.5 for cell in item["groups"].values() if cell["votes"])

    html = client.get(f"/consultations/{slug}/opinions").get_data(as_text=True)
    assert "Group A" in html and "Across constituencies" in html and "Across regions" in html
    assert "NGO / civil society" in html
    assert not re.search(r"Participant \d", html)  # never an identity on an aggregate page
    balance = client.get(f"/consultations/{slug}/balance").get_data(as_text=True)
    assert "One constituency dominates among voters" in balance and "Private sector" in balance

    export = runner.invoke(args=["agora", "polis", "export", slug, str(tmp_path / "out")])
    assert export.exit_code == 0, export.output
    with (tmp_path / "out" / "comments.csv").open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    with (tmp_path / "out" / "participants-votes.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, people = reader.fieldnames, list(reader)
    with app.app_context():
        published = db.session.scalar(
            select(func.count()).where(Submission.consultation_id == cid, Submission.state == "published")
        )
        stored_votes = db.session.scalar(
            select(func.count(Vote.id))
            .join(Submission, Submission.id == Vote.submission_id)
            .where(Submission.consultation_id == cid, Submission.state == "published")
        )
    assert len(exported) == published and {r["comment-id"] for r in exported} <= set(keep)  # Pol.is ids kept
    assert header[:6] == ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"]
    assert sum(int(p["n-votes"]) for p in people) == stored_votes
    assert any(p["group-id"] != "" for p in people)
    again = runner.invoke(args=["agora", "polis", "import", str(tmp_path / "out"), "--title", "Round trip"])
    assert again.exit_code == 0, again.output
    assert f"{stored_votes:,} votes" in again.output


def test_polis_import_of_a_folder_without_the_files_stores_nothing(app, tmp_path):
    (tmp_path / "empty").mkdir()
    result = app.test_cli_runner().invoke(
        args=["agora", "polis", "import", str(tmp_path / "empty"), "--title", "Nothing"]
    )
    assert result.exit_code != 0 and "comments.csv" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_one_voter_gives_no_groups_but_a_page(app, client, make):
    cid = make.consultation()
    slug = make.slug(cid)
    ids = _publish(app, cid, civic_statements(4))
    voter = make.user(constituency="youth", country="BR")
    with app.app_context():
        db.session.add_all([Vote(submission_id=i, user_id=voter, value=1) for i in ids])
        db.session.commit()
        snapshot = opinions.refit(cid)
        assert snapshot.status == "ready"
        assert themes.snapshot_data(snapshot)["summary"]["vote"]["groups"] == []
    html = client.get(f"/consultations/{slug}/opinions").get_data(as_text=True)
    assert "Not enough participants have voted" in html
    balance = client.get(f"/consultations/{slug}/balance").get_data(as_text=True)
    assert "Youth" in balance and "Americas" in balance


def test_cli_refit_prints_what_it_did(app, make):
    cid = make.consultation()
    slug = make.slug(cid)
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["agora", "themes", "refit", slug])
    assert empty.exit_code == 0 and "No published views" in empty.output
    _publish(app, cid, civic_statements(10))
    result = runner.invoke(args=["agora", "themes", "refit", slug])
    assert result.exit_code == 0, result.output
    assert "Clustering 10 views" in result.output and "Stored theme snapshot" in result.output
    assert "No votes yet" in result.output
    missing = runner.invoke(args=["agora", "themes", "refit", "no-such-consultation"])
    assert missing.exit_code != 0 and "no consultation" in missing.output.lower()


def test_older_snapshots_keep_their_summary_but_drop_the_placement_model(app, make):
    cid = make.consultation()
    _publish(app, cid, civic_statements(10))
    made = [_refit(app, cid)[0] for _ in range(themes.KEEP_MODELS + 1)]
    with app.app_context():
        stored = {i: __import__("json").loads(db.session.get(ThemeSnapshot, i).data_json) for i in made}
    assert "themeset" not in stored[made[0]] and stored[made[0]]["summary"]["n"] == 10
    assert all("themeset" in stored[i] for i in made[1:])


def test_a_report_numbers_its_themes_like_the_themes_page(app, make):
    """The report fits its own views (reproducible), with the ids of the page's latest snapshot."""
    from agora.services.reporting import reports

    cid = make.consultation()
    texts = civic_statements(80)
    first = _publish(app, cid, texts[:40])
    _refit(app, cid)
    with app.app_context():  # those views are withdrawn; new ones arrive: the page's themes get fresh numbers
        db.session.execute(db.update(Submission).where(Submission.id.in_(first)).values(state="hidden"))
        db.session.commit()
    _publish(app, cid, texts[40:], start=datetime(2026, 2, 5))
    snapshot_id, status = _refit(app, cid)
    assert status == "ready"
    with app.app_context():
        page_ids = {t["id"] for t in themes.latest_summary(cid)["themes"]}
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        content = reports.build(cid)
    assert content["themes"]["method"]["ids_matched_to_snapshot"] == snapshot_id
    # The views a report theme quotes are, on the page, mostly in the theme of the same number.
    pairs = [(item["id"], quote["submission_id"]) for item in content["themes"]["items"] for quote in item["quotes"]]
    with app.app_context():
        on_page = dict(db.session.execute(select(Submission.id, Submission.theme_id)).all())
    same = sum(1 for theme_id, sid in pairs if on_page[sid] == theme_id)
    assert pairs and same >= 0.7 * len(pairs), (same, len(pairs), page_ids)
