"""Abuse/spam scoring: the public contract and decisions on small fixed corpora. Pure: no app."""

import ast
import dataclasses
import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moderation
from moderation import Moderator, Score
from moderation.classify import MODEL_DIR, Thresholds

CIVIC = [
    "We need more bike lanes downtown and better buses for students.",
    "The county should extend water lines to the homes in the Tuckertown area.",
    "I disagree with this proposal; the budget should go to primary schools first.",
    "Public libraries should stay open later on weekdays so working parents can use them.",
    "Small farmers need fair prices and access to credit to adapt to drought.",
    "Internet access in rural areas is too slow and too expensive for families.",
    "The city council should publish its spending online every month.",
    "Refugees and immigrants add many things to our community and should be welcomed.",
]
ABUSIVE = [
    "You are a stupid worthless bitch, go kill yourself",
    "shut up you fucking retard nobody cares about your trash opinion",
    "these dirty faggots should all be shot",
    "you ugly hoe, fuck off back to where you came from",
]
LINK_FLOOD = (
    "Buy now!!! cheap pills http://pills.example.com http://pills.example.net "
    "https://deals.example.org/offer www.cheap-pills.biz"
)


MODERATOR = Moderator.load()


@pytest.fixture(scope="module")
def m():
    return MODERATOR


def test_public_contract(m):
    scores = m.score(["Ordinary statement about public transport.", "another one"])
    assert len(scores) == 2 and all(isinstance(s, Score) for s in scores)
    s = scores[0]
    assert 0.0 <= s.abuse <= 1.0 and 0.0 <= s.spam <= 1.0
    assert s.language is None or isinstance(s.language, str)
    assert isinstance(s.reasons, tuple) and all(isinstance(r, str) for r in s.reasons)
    assert s.decision in ("publish", "hold", "reject")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.abuse = 0.5
    assert moderation.Score is Score and moderation.Moderator is Moderator


def test_version_names_the_artefact(m):
    meta = json.loads((MODEL_DIR / "model.json").read_text())
    assert m.version.startswith("abuse-mlr-") and m.version == meta["version"]
    assert m.version.endswith(meta["weights_sha256"][:8])


def test_order_preserved_and_batch_equals_single(m):
    texts = CIVIC + ABUSIVE + [LINK_FLOOD]
    batch = m.score(texts)
    assert [s.abuse for s in batch] == [m.score([t])[0].abuse for t in texts]
    reversed_batch = m.score(list(reversed(texts)))
    assert [s.abuse for s in reversed(reversed_batch)] == [s.abuse for s in batch]


def test_civic_statements_published(m):
    for text, s in zip(CIVIC, m.score(CIVIC)):
        assert s.decision == "publish", (text, s)
        assert s.language == "en"


def test_clearly_abusive_text_held_or_rejected(m):
    for text, s in zip(ABUSIVE, m.score(ABUSIVE)):
        assert s.decision in ("hold", "reject"), (text, s)
        assert "abuse" in s.reasons
        assert s.abuse > max(c.abuse for c in m.score(CIVIC))


def test_link_flood_flagged_as_spam(m):
    s = m.score([LINK_FLOOD])[0]
    assert "link_flood" in s.reasons and "promotional" in s.reasons
    assert s.spam >= m.thresholds.spam_hold and s.decision in ("hold", "reject")


def test_shouting_and_repeated_characters_have_reasons(m):
    caps, repeated = m.score(
        ["THIS COUNCIL HAS IGNORED OUR ROADS FOR TEN YEARS AND WE ARE TIRED", "the new park is sooooooooooo nice"]
    )
    assert "all_caps" in caps.reasons
    assert "repeated_chars" in repeated.reasons
    assert caps.decision == "publish" and repeated.decision == "publish"  # style alone is not spam


SIX_LANGUAGES = {  # (abusive, ordinary civic) in each UN language; written for this test
    "fr": (
        "Vous êtes des connards et des salopes, allez vous faire foutre, bande de cons",
        "Nous devons améliorer les transports publics dans toute la région.",
    ),
    "es": (
        "Eres un imbécil y un parásito, cállate y lárgate de aquí, basura",
        "Necesitamos más escuelas y mejores hospitales en las zonas rurales del país.",
    ),
    "ar": (
        "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر",
        "نحن بحاجة إلى مزيد من المدارس والمستشفيات في المناطق الريفية",
    ),
    "ru": (
        "Ты тупой идиот и мразь, заткнись и убирайся отсюда, урод",
        "Нам нужно больше школ и больниц в сельских районах страны.",
    ),
    "zh": ("你这个白痴，滚出去，你们这些垃圾都该去死", "我们需要在农村地区建设更多的学校和医院。"),
    "en": (
        "You are a worthless idiot, shut up and get out, you piece of trash",
        "We need more schools and better hospitals in rural areas.",
    ),
}


@pytest.mark.parametrize("language", sorted(SIX_LANGUAGES))
def test_abuse_is_held_and_civic_text_published_in_every_un_language(m, language):
    abusive, civic = m.score(list(SIX_LANGUAGES[language]))
    assert abusive.language == civic.language == language
    assert "unsupported_language" not in abusive.reasons
    assert abusive.decision in ("hold", "reject") and "abuse" in abusive.reasons, abusive
    assert civic.decision == "publish", civic
    assert m.thresholds_for(language).hold <= m.thresholds.reject  # each language has its own


def test_other_languages_are_never_held_on_abuse_only_on_rule_signals(m):
    texts = [
        "Wewe ni mjinga na mpumbavu, nyamaza kabisa, hatutaki kusikia upuuzi wako",  # Swahili
        "Precisamos urgentemente de mais escolas e hospitais nas zonas rurais do nosso país, obrigado.",
    ]  # Portuguese
    strict = Thresholds(hold=0.0, reject=0.0)  # any abuse score at all would hold and reject
    for text, s in zip(texts, m.score(texts, thresholds=strict)):
        assert s.language in ("sw", "pt"), (text, s)
        assert "unsupported_language" in s.reasons and "abuse" not in s.reasons
        assert s.decision == "publish", (text, s)
    flood = m.score(
        [
            "Compre agora http://a.example.com http://b.example.com http://c.example.com "
            "http://d.example.com oferta especial para todos os cidadãos da região"
        ]
    )[0]
    assert "unsupported_language" in flood.reasons and "link_flood" in flood.reasons
    assert flood.decision in ("hold", "reject")


def test_short_texts_have_no_guessed_language(m):
    for s in m.score(["ok", "lol", "😀😀😀", "12345", "+1"]):
        assert s.language is None


def test_thresholds_override_and_redecide(m):
    s = m.score([ABUSIVE[0]])[0]
    lenient = Thresholds(hold=1.0, reject=1.0)
    assert m.decide(s, lenient) == "publish"
    assert m.score([ABUSIVE[0]], thresholds=lenient)[0].decision == "publish"
    civic = m.score([CIVIC[0]])[0]
    assert m.decide(civic, Thresholds(hold=0.0, reject=1.0)) == "hold"
    assert m.rescore(civic, Thresholds(hold=0.0, reject=1.0)).reasons == ("abuse",)
    with pytest.raises(ValueError):
        Thresholds(hold=0.9, reject=0.5)
    with pytest.raises(ValueError):
        Thresholds(hold=1.5)


def test_default_thresholds_are_those_documented(m):
    meta = json.loads((MODEL_DIR / "model.json").read_text())
    assert m.thresholds == Thresholds(**meta["thresholds"])
    assert 0.0 < m.thresholds.hold < m.thresholds.reject <= 1.0


def test_assess_adds_app_context(m):
    s = m.score([CIVIC[0]])[0]
    dup = m.assess(s, near_duplicate_of=[41])
    assert "near_duplicate" in dup.reasons and dup.decision == "publish"  # disclosed, not held
    flood = m.assess(s, flood=True)
    assert "flood" in flood.reasons and flood.decision == "hold"


BAD_INPUTS = [
    "",
    " ",
    "\n\t",
    None,
    12345,
    b"bytes",
    "\x00\x01\x02\x1b[31m",
    "a" * 200_000,
    "😀" * 50,
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "\ud800\udfff lone surrogates \ud800",
    "مرحبا hello 你好 привет שלום",
    "‮reversed‬",
    "http://" * 500,
    "&amp;&lt;&#128514;" * 100,
]


def test_bad_input_never_raises(m):
    scores = m.score(BAD_INPUTS)
    assert len(scores) == len(BAD_INPUTS)
    for s in scores:
        assert 0.0 <= s.abuse <= 1.0 and 0.0 <= s.spam <= 1.0 and not math.isnan(s.abuse)
    assert scores[0].decision == "reject" and "empty" in scores[0].reasons
    assert "truncated" in scores[7].reasons
    assert "markup" in scores[9].reasons
    assert m.score([]) == []
    assert len(m.score(iter(["a generator works too"]))) == 1
    with pytest.raises(TypeError):
        m.score("a bare string would be scored character by character")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_scores(text):
    s = MODERATOR.score([text])[0]
    assert 0.0 <= s.abuse <= 1.0 and s.decision in ("publish", "hold", "reject")


def test_model_is_stored_without_pickle(m):
    files = sorted(p.name for p in MODEL_DIR.iterdir())
    assert files == ["model.json", "weights.npz"]
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 5_000_000
    import numpy as np

    with np.load(MODEL_DIR / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_load_refuses_tampered_weights(tmp_path, m):
    m.save(tmp_path)
    assert Moderator.load(tmp_path).score([CIVIC[0]])[0].abuse == m.score([CIVIC[0]])[0].abuse
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["weights_sha256"] = "0" * 64
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError):
        Moderator.load(tmp_path)


def test_library_stays_pure():
    forbidden = {"agora", "flask", "sqlalchemy", "pickle", "joblib"}
    package = Path(moderation.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)
    assert "flask" not in sys.modules or "agora" in sys.modules  # we did not bring it in ourselves
