"""Near-duplicate campaigns and posting floods. Pure: no app."""

import json
import random
from datetime import UTC

from moderation.neardup import NearDuplicateIndex
from moderation.rules import FloodTracker, signals

BASE = (
    "We demand that the ministry stops the construction of the new dam on the river, "
    "because it will flood three villages and destroy the farmland of thousands of families."
)
OTHER = [
    "Public libraries should stay open later on weekdays so working parents can use them.",
    "Small farmers need fair prices and access to credit to adapt to drought.",
    "Internet access in rural areas is too slow and too expensive for families.",
    "The city council should publish its spending online every month.",
    "We demand better schools in the north of the country and more teachers.",
]


def edits(text: str, n: int, seed: int = 0) -> list[str]:
    """Variants with small edits: a word dropped or swapped, case and punctuation changed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = text.split()
        i = rng.randrange(len(words))
        op = rng.choice(["drop", "case", "punct", "typo"])
        if op == "drop":
            del words[i]
        elif op == "case":
            words[i] = words[i].upper()
        elif op == "punct":
            words[i] = words[i] + "!"
        else:
            w = words[i]
            words[i] = w[:-1] + "x" if len(w) > 3 else w
        out.append(" ".join(words))
    return out


def test_near_duplicates_found_and_grouped():
    index = NearDuplicateIndex()
    for i, text in enumerate(OTHER):
        assert index.add(f"o{i}", text) == []
    assert index.add("c0", BASE) == []
    variants = edits(BASE, 30)
    for i, text in enumerate(variants, start=1):
        assert index.add(f"c{i}", text), text  # each variant matches earlier ones
    groups = index.campaigns(min_size=2)
    assert len(groups) == 1
    assert set(groups[0]) == {f"c{i}" for i in range(31)}
    assert groups[0][0] == "c0"  # oldest first
    assert index.campaigns(min_size=32) == []


def test_unrelated_texts_are_not_duplicates():
    index = NearDuplicateIndex()
    for i, text in enumerate(OTHER + [BASE]):
        index.add(i, text)
    assert index.campaigns(min_size=2) == []
    assert index.query("We demand better schools in the north of the country and more teachers!") == [4]


def test_index_round_trips_through_plain_json():
    index = NearDuplicateIndex()
    for i, text in enumerate([BASE] + edits(BASE, 5) + OTHER):
        index.add(i, text)
    data = json.loads(json.dumps(index.to_dict()))
    rebuilt = NearDuplicateIndex.from_dict(data)
    assert rebuilt.campaigns() == index.campaigns()
    assert rebuilt.add(99, BASE.lower()) == index.add(99, BASE.lower())


def test_empty_and_odd_texts_do_not_match_everything():
    index = NearDuplicateIndex()
    for i, text in enumerate(["", "   ", "😀😀", "!!!", "", None]):
        assert index.add(i, text) == []
    assert index.campaigns() == []


def test_lookup_is_sublinear_on_real_text():
    """3,000 real tweets: each add compares only bucket-mates, far from the 4.5 million pairs."""
    from moderation import data

    tweets = [e.text for e in data.davidson()["test"][:3000]]
    index = NearDuplicateIndex()
    for i, text in enumerate(tweets):
        index.add(i, text)
    assert index.comparisons < 10 * len(tweets)
    grouped = [tweets[i] for g in index.campaigns() for i in g]
    assert len(grouped) < 0.03 * len(tweets)  # real duplicates (a spam campaign, retweets) only
    assert any("MASSAGE" in t for t in grouped)


def test_flood_tracker():
    flood = FloodTracker(max_posts=3, window_seconds=60)
    assert [flood.observe("ann", t) for t in (0, 1, 2)] == [False, False, False]
    assert flood.observe("ann", 3) is True
    assert flood.observe("bob", 3) is False  # per author
    assert flood.observe("ann", 200) is False  # the window has passed
    assert flood.is_flooding("ann", 201) is False
    flood.prune(1000)
    assert flood.observe("ann", 1000) is False


def test_flood_tracker_takes_datetimes():
    from datetime import datetime, timedelta

    flood = FloodTracker(max_posts=2, window_seconds=10)
    t0 = datetime(2026, 11, 26, tzinfo=UTC)
    assert [flood.observe(7, t0 + timedelta(seconds=s)) for s in (0, 1, 2)] == [False, False, True]


def test_rule_signals():
    assert "link_flood" in signals("see http://a.io http://b.io http://c.io").reasons
    assert signals("one link http://example.org to the city report").spam < 0.5
    assert "promotional" in signals("Click here for a limited offer, promo code SAVE, call now!").reasons
    assert signals("The council meets on Tuesday to discuss the budget.").reasons == ()
    assert signals("").reasons == ("empty",)
    assert "repeated_chars" in signals("vote vote Vote vote VOTE for the new park").reasons
    assert "repeated_chars" not in signals("vote vote vote for the new park").reasons
