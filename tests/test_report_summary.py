"""The report's one-page summary says what the report's numbers say, and nothing else: a
consultation with one clear consensus statement and one clear divisive one (texts in the six UN
languages) gets a summary naming exactly those, each claim linked to statement entries that exist
in the report (HTML and PDF); it reads in French and in Arabic; the frozen hash covers it."""

import csv
import io
import json
import re
import zipfile
import zlib
from html.parser import HTMLParser

import pytest

from agora.extensions import db
from agora.models import Consultation, Report, Submission, User, Vote
from agora.services.reporting import reports

CONSENSUS = "Chaque école publique doit servir un repas sain et gratuit à tous les enfants."  # fr
DIVISIVE = "يجب أن تفرض المدينة رسوماً على كل سيارة تدخل وسطها في ساعات الذروة."  # ar
OTHERS = [
    "社区图书馆应该在周末延长开放时间。",  # zh
    "Городу нужны новые велосипедные дорожки вдоль реки.",  # ru
    "El ayuntamiento debería publicar todos sus contratos en internet.",  # es
    "The council should plant a tree for every child born in the county.",  # en
    "Les marchés locaux devraient accepter les paiements par téléphone.",  # fr
    "Необходимо продлить работу общественного транспорта до полуночи.",  # ru
]
CAMP = 18  # voters in each camp


@pytest.fixture
def two_camps(app, make):
    """Two camps of 18 voters: all agree with CONSENSUS, camp one agrees with DIVISIVE and camp two
    disagrees; the six other statements are mostly passed, with one agree and one disagree in each
    camp, so nothing else is agreed or divisive."""
    cid = make.consultation("Vivre ensemble en ville", languages="ar,zh,en,fr,ru,es")
    with app.app_context():
        ids = {}
        for text in [CONSENSUS, DIVISIVE, *OTHERS]:
            submission = Submission(consultation_id=cid, kind="view", text=text, state="published", channel="import")
            db.session.add(submission)
            db.session.flush()
            ids[text] = submission.id
        voters = []
        for person in range(2 * CAMP):
            user = User(
                display_name=f"Voter {person}", constituency=("ngo", "academia")[person % 2] if person % 4 < 2 else None
            )
            db.session.add(user)
            db.session.flush()
            voters.append(user.id)
        for one, camp in ((True, voters[:CAMP]), (False, voters[CAMP:])):
            for i, user_id in enumerate(camp):
                db.session.add(Vote(submission_id=ids[CONSENSUS], user_id=user_id, value=0 if i == 0 else 1))
                db.session.add(Vote(submission_id=ids[DIVISIVE], user_id=user_id, value=1 if one else -1))
            for j, text in enumerate(OTHERS):  # mostly passed; one agrees and one disagrees in each camp
                for i, user_id in enumerate(camp):
                    db.session.add(
                        Vote(
                            submission_id=ids[text], user_id=user_id, value=1 if i == j + 2 else -1 if i == j + 9 else 0
                        )
                    )
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        return {"cid": cid, "ids": ids, "report_id": report.id}


class _Anchors(HTMLParser):
    """Every id in a page, and the links (href, text) inside its summary section."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.depth, self._link = set(), [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "section":
            self.depth = self.depth + 1 if (self.depth or "report-summary" in (attrs.get("class") or "")) else 0
        if tag == "a" and self.depth and (attrs.get("href") or "").startswith("#"):
            self._link = [attrs["href"][1:], ""]

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append(tuple(self._link))
            self._link = None
        if tag == "section" and self.depth:
            self.depth -= 1


def _anchors(html):
    parser = _Anchors()
    parser.feed(html)
    return parser


def _pdf_objects(pdf: bytes) -> bytes:
    """A PDF's objects, its compressed object streams opened (where links and destinations are)."""
    found = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            found.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"\n".join(found)


def _content(app, report_id):
    with app.app_context():
        return json.loads(db.session.get(Report, report_id).content_json)


def test_summary_names_exactly_the_consensus_and_the_divisive_statement_with_the_reports_numbers(app, two_camps):
    content = _content(app, two_camps["report_id"])
    ids, summary, opinions = two_camps["ids"], content["summary"], content["opinions"]
    assert sorted(g["letter"] for g in opinions["groups"]) == ["A", "B"] and [
        g["size"] for g in opinions["groups"]
    ] == [CAMP, CAMP]
    claims = {}
    for claim in summary["claims"]:
        claims.setdefault(claim["kind"], []).append(claim)
        assert claim["text"] and len(claim["statements"]) == len(set(claim["statements"]))
        assert len(claim["anchors"]) >= len(claim["statements"])

    (agreed,) = claims["agreed"]  # where the groups agree: exactly the consensus statement
    assert agreed["statements"] == [ids[CONSENSUS]] and agreed["section"] == "agree"
    found = next(s for s in opinions["consensus"] if s["submission_id"] == ids[CONSENSUS])
    assert agreed["values"]["everyone"] == found["everyone"]["agree"]
    assert agreed["values"]["lowest"] == min(g["agree"] for g in found["groups"].values())
    assert f"{round(found['everyone']['agree'] * 100)} %" in agreed["text"]

    (split,) = claims["split"]  # where they split: exactly the divisive statement
    assert split["statements"] == [ids[DIVISIVE]] and split["section"] == "split"
    found = next(s for s in opinions["divisive"] if s["submission_id"] == ids[DIVISIVE])
    v = split["values"]
    assert {v["agree_group"], v["disagree_group"]} == {"A", "B"}
    assert v["agree"] == found["groups"][v["agree_group"]]["agree"] > 0.9
    assert v["disagree"] == found["groups"][v["disagree_group"]]["disagree"] > 0.9
    assert f"Group {v['agree_group']}" in split["text"] and f"Group {v['disagree_group']}" in split["text"]

    # each group stands out on the divisive statement, in opposite directions
    leaning = {
        c["values"]["group"]: (c["kind"], c["statements"])
        for c in claims.get("group_agree", []) + claims.get("group_disagree", [])
    }
    assert leaning == {
        v["agree_group"]: ("group_agree", [ids[DIVISIVE]]),
        v["disagree_group"]: ("group_disagree", [ids[DIVISIVE]]),
    }
    cited_by_opinions = {
        sid
        for kind in ("agreed", "split", "group_agree", "group_disagree")
        for c in claims.get(kind, [])
        for sid in c["statements"]
    }
    assert cited_by_opinions == {ids[CONSENSUS], ids[DIVISIVE]}

    p = content["participation"]  # who took part: the report's counts and its balance verdict
    (participation,) = claims["participation"]
    assert participation["values"] == {
        k: p[k] for k in ("participants", "submitters", "submissions", "voters", "votes")
    }
    assert (
        f"{p['participants']:,} participants took part" in participation["text"]
        and f"{p['votes']:,} votes" in participation["text"]
    )
    assert p["balance"]["verdict"] == "no_dominance" and "balanced" in claims and "balance_unknown" not in claims
    (placed,) = claims["placed"]
    assert placed["values"]["placed"] == 2 * CAMP
    themes = claims["theme"]  # the main themes: sizes as in the report, quotes as their statements
    by_id = {t["id"]: t for t in content["themes"]["items"]}
    for claim in themes:
        theme = by_id[claim["values"]["theme_id"]]
        assert claim["values"]["size"] == theme["size"] and claim["statements"] == [theme["quotes"][0]["submission_id"]]
    (asked,) = claims["asked"]
    assert asked["values"]["title"] == "Vivre ensemble en ville"
    assert set(summary["statements"]) == {str(sid) for c in summary["claims"] for sid in c["statements"]}
    assert summary["statements"][str(ids[DIVISIVE])] == DIVISIVE

    rows = list(csv.DictReader(io.StringIO(reports.csv_tables(content)["summary.csv"])))
    assert [r["kind"] for r in rows] == [c["kind"] for c in summary["claims"]]
    assert next(r for r in rows if r["kind"] == "agreed")["statement_ids"] == str(ids[CONSENSUS])
    shares = list(csv.DictReader(io.StringIO(reports.csv_tables(content)["statement_shares.csv"])))
    assert {(r["kind"], r["who"]) for r in shares if r["submission_id"] == str(ids[DIVISIVE])} == {
        ("divisive", w) for w in ("everyone", "A", "B")
    }


def test_every_summary_link_resolves_to_a_statement_entry_in_the_page_and_the_package(app, client, two_camps):
    content = _content(app, two_camps["report_id"])
    page = client.get(f"/reports/{two_camps['report_id']}?lang=en").get_data(as_text=True)
    parsed = _anchors(page)
    cited = [(anchor, sid) for c in content["summary"]["claims"] for anchor, sid in zip(c["anchors"], c["statements"])]
    assert cited and {(a, f"#{s}") for a, s in cited} <= {
        (href, text[text.rfind("(#") + 1 : -1]) for href, text in parsed.links
    }
    for href, _text in parsed.links:
        assert href in parsed.ids, href  # a link that leads nowhere is a claim nobody can check
    assert page.index('class="report-summary"') < page.index('id="who"')  # at the top
    with app.app_context():
        package = db.session.get(Report, two_camps["report_id"]).package
    archive = zipfile.ZipFile(io.BytesIO(package))
    standalone = _anchors(archive.read("report.html").decode())
    assert {a for a, _ in cited} <= standalone.ids and all(href in standalone.ids for href, _ in standalone.links)
    pdf = _pdf_objects(archive.read("report.pdf"))
    for anchor, _sid in cited:  # the PDF: a link to each cited entry, and the entry as a named destination
        assert f"/Dest ({anchor})".encode() in pdf and f"({anchor}) [".encode() in pdf, anchor
    assert "tables/summary.csv" in archive.namelist()


def test_summary_reads_in_french_and_in_arabic(app, client, two_camps):
    content = _content(app, two_camps["report_id"])
    agreed = next(c for c in content["summary"]["claims"] if c["kind"] == "agreed")
    english = agreed["text"]
    french = client.get(f"/reports/{two_camps['report_id']}?lang=fr").get_data(as_text=True)
    assert "Résumé" in french and "Où les groupes s’accordent" in french and english not in french
    assert "Approuvé dans chaque groupe d’opinion" in french
    assert f"{round(agreed['values']['everyone'] * 100)}\u00a0%" in french
    arabic = client.get(f"/reports/{two_camps['report_id']}?lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in arabic and "ملخص" in arabic and english not in arabic
    assert "موافَق عليه في كل مجموعة رأي" in arabic
    assert CONSENSUS in arabic and DIVISIVE in french  # the statements themselves stay verbatim


def test_the_frozen_hash_covers_the_summary(app, two_camps):
    with app.app_context():
        report = db.session.get(Report, two_camps["report_id"])
        assert reports.verify_report(report.id).ok
        content = json.loads(report.content_json)
        claim = next(c for c in content["summary"]["claims"] if c["kind"] == "split")
        claim["statements"] = [two_camps["ids"][CONSENSUS]]  # a summary made to say the wrong thing
        report.content_json = reports.canonical(content).decode("utf-8")
        db.session.commit()
        result = reports.verify_report(report.id)
    assert not result.ok and "report.json" in result.problems[0]


def test_the_report_says_how_its_themes_were_found(app, client, two_camps):
    """Themes are found by meaning (stored multilingual embeddings), as on the themes page; the
    report's method must say so, not describe a word-count method it did not use."""
    content = _content(app, two_camps["report_id"])
    method = content["themes"]["method"]
    assert method["backend"] == "embeddings" and "gap statistic" in method["k_chosen_by"]
    assert (
        "by meaning (multilingual sentence embeddings" in content["method"]["text"]
        and "TF-IDF" not in content["method"]["text"]
    )
    html = client.get(f"/reports/{two_camps['report_id']}").get_data(as_text=True)
    assert "multilingual sentence embeddings + k-means" in html and "TF-IDF" not in html


def test_summary_claims_hold_for_a_dominated_consultation_with_views_outside_every_theme():
    """Pure: the summary of a hand-made report says what its numbers say (no database)."""
    from agora.services.reporting import report_summary

    content = {
        "consultation": {"title": "Océans", "summary": None, "forum": None},
        "participation": {
            "participants": 5,
            "submitters": 5,
            "submissions": 5,
            "voters": 1,
            "votes": 2,
            "balance": {
                "verdict": "dominated",
                "declared": {"constituency": 4, "country": 0, "gender": 0},
                "largest_constituency": {"key": "ngo", "label": "NGO / civil society", "share_of_stated": 0.75},
                "largest_region": None,
            },
        },
        "themes": {
            "items": [
                {
                    "id": 0,
                    "label": "海洋塑料",
                    "size": 2,
                    "share": 0.4,
                    "quotes": [{"submission_id": 9, "text": "减少塑料。"}],
                }
            ],
            "unassigned": 3,
        },
        "opinions": {"groups": [], "consensus": [], "divisive": []},
    }
    claims = {c["kind"]: c for c in report_summary.summarise(content)["claims"]}
    assert (
        claims["dominant_constituency"]["text"]
        == "Not balanced: NGO / civil society is 75 % of the 4 participants who declared a constituency."
    )
    assert claims["themes"]["text"].startswith("3 views fit no theme. The published views fall into 1 theme.")
    assert claims["theme"]["statements"] == [9] and claims["theme"]["anchors"] == ["theme-0-statement-9"]
    assert (
        "no_groups" in claims and "agreed" not in claims and "split" not in claims
    )  # 2 votes: no groups, no claim about them


def test_a_dominated_report_states_its_balance_in_the_readers_language(app, client, make):
    """The balance verdict under "Who took part" is said in the page's language (it was the English
    text frozen in the JSON, on a French or Arabic page alike)."""
    cid = make.consultation("Plastiques")
    texts = [
        "Interdire les sacs plastiques.",
        "حظر الأكياس البلاستيكية.",
        "禁止塑料袋。",
        "Запретить пластиковые пакеты.",
    ]
    for i, text in enumerate(texts):
        make.submission(cid, make.user(constituency="ngo" if i < 3 else "academia", country="FR"), text)
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        english = reports.content_of(report)["participation"]["balance"]["warnings"]
    assert any(w.startswith("One constituency dominates") for w in english)
    french = client.get(f"/reports/{report.id}?lang=fr").get_data(as_text=True)
    assert (
        "Déséquilibre : ONG / société civile représente 75\u00a0% des 4 participants ayant déclaré un groupe d’acteurs."
        in french
    )
    assert "Aucun participant n’a déclaré ces groupes d’acteurs :" in french and "Syndicat" in french
    assert not any(w in french for w in english)
    arabic = client.get(f"/reports/{report.id}?lang=ar").get_data(as_text=True)
    assert "غياب التوازن" in arabic and not any(w in arabic for w in english)
