"""Opinion groups: planted groups, consensus, divisive statements and the degenerate inputs."""

import json

import numpy as np
import pytest

from moderation import opinions

N_STATEMENTS = 20
CONSENSUS = "s0"  # everyone agrees
DIVISIVE = "s1"  # group A agrees, group B disagrees


def _planted(n_per_group=40, seed=0, missing=0.2):
    """Two planted groups: A agrees with s1..s9 and disagrees with s10..s19; B the opposite.
    Everyone agrees with s0. Some votes are missing (unseen), a few are passes or noise."""
    rng = np.random.default_rng(seed)
    votes = []
    truth = {}
    for group, sign in (("A", 1), ("B", -1)):
        for i in range(n_per_group):
            pid = f"{group}{i}"
            truth[pid] = group
            for s in range(N_STATEMENTS):
                if s > 0 and rng.random() < missing:
                    continue
                if s == 0:
                    value = 1
                else:
                    value = sign if s < 10 else -sign
                    roll = rng.random()
                    if roll < 0.05:
                        value = 0
                    elif roll < 0.12:
                        value = -value
                votes.append((pid, f"s{s}", value))
    return votes, truth


@pytest.fixture(scope="module")
def planted():
    votes, truth = _planted()
    return opinions.fit(votes), truth


def test_planted_groups_are_recovered(planted):
    op, truth = planted
    assert len(op.groups) == len(truth)
    assert len(set(op.groups.values())) == 2
    for group in ("A", "B"):
        found = {op.groups[p] for p, g in truth.items() if g == group}
        assert len(found) == 1
    assert op.groups["A0"] != op.groups["B0"]


def test_consensus_divisive_and_representative(planted):
    op, _ = planted
    assert op.consensus[0] == CONSENSUS
    assert CONSENSUS not in op.divisive
    assert DIVISIVE in op.divisive
    assert set(op.representative) == set(op.groups.values())
    group_a = op.groups["A0"]
    assert op.representative[group_a]
    assert all(s != CONSENSUS for s in op.representative[group_a])
    # A agrees with s1..s9 and disagrees with s10..s19: the direction says which
    for item in op.representative_detail[group_a]:
        number = int(item["statement"][1:])
        assert item["direction"] == ("agree" if number < 10 else "disagree")
        assert item["ratio"] > 1
    assert [d["statement"] for d in op.representative_detail[group_a]] == op.representative[group_a]


def test_coords_for_every_placed_participant(planted):
    op, truth = planted
    assert set(op.coords) == set(truth)
    xs = {g: np.mean([op.coords[p][0] for p in truth if truth[p] == g]) for g in ("A", "B")}
    assert abs(xs["A"] - xs["B"]) > 1.0


def test_round_trip_through_json(planted):
    op, _ = planted
    restored = opinions.OpinionGroups.from_dict(json.loads(json.dumps(op.to_dict())))
    assert restored.groups == op.groups
    assert restored.consensus == op.consensus
    assert restored.divisive == op.divisive
    assert restored.representative == op.representative
    assert restored.coords == op.coords
    assert restored.representative_detail == op.representative_detail


def test_integer_ids_survive_round_trip():
    votes = [(int(p[1:]) + (0 if p[0] == "A" else 1000), int(s[1:]), v) for p, s, v in _planted()[0]]
    op = opinions.fit(votes)
    restored = opinions.OpinionGroups.from_dict(json.loads(json.dumps(op.to_dict())))
    assert restored.groups == op.groups
    assert all(isinstance(p, int) for p in restored.groups)
    assert restored.consensus[0] == 0


def test_declared_groups():
    votes, truth = _planted()
    op = opinions.fit(votes, groups=truth)
    assert op.declared
    assert op.groups == truth
    assert set(op.representative) == {"A", "B"}
    assert op.consensus[0] == CONSENSUS
    assert DIVISIVE in op.divisive


def test_declared_groups_ignore_unknown_participants():
    votes, truth = _planted()
    op = opinions.fit(votes, groups={**truth, "nobody": "C"})
    assert "nobody" not in op.groups


def test_stable_numbering_across_updates():
    votes, truth = _planted(seed=1)
    first = opinions.fit(votes)
    more, _ = _planted(seed=2)
    second = opinions.fit(votes + [(p + "x", s, v) for p, s, v in more], previous=first)
    for p in truth:
        assert second.groups[p] == first.groups[p]


def test_last_vote_wins():
    votes, _ = _planted()
    flipped = votes + [("A0", "s0", -1)]
    op = opinions.fit(flipped)
    assert op.statement_stats[CONSENSUS]["disagree"] == 1


def test_single_participant_has_no_groups_but_consensus():
    op = opinions.fit([("p1", "s1", 1), ("p1", "s2", -1), ("p1", "s3", 0)])
    assert op.groups == {}
    assert op.representative == {}
    assert op.divisive == []
    assert op.consensus == []  # one voter is not a consensus


def test_few_voters_no_groups_consensus_over_everyone():
    votes = [(p, "s1", 1) for p in range(3)] + [(p, "s2", -1) for p in range(3)]
    op = opinions.fit(votes)
    assert op.groups == {}
    assert op.consensus == ["s1"]


def test_no_votes():
    op = opinions.fit([])
    assert op.groups == {} and op.consensus == [] and op.divisive == [] and op.representative == {}


def test_numpy_array_input():
    votes = np.array([[p, s, 1 if (p < 20) == (s < 5) else -1] for p in range(40) for s in range(10)])
    op = opinions.fit(votes)
    assert len(set(op.groups.values())) == 2
    assert op.groups[0] != op.groups[39]


@pytest.mark.parametrize("bad", [2, -2, 0.5, "agree", None, float("nan")])
def test_bad_vote_values(bad):
    with pytest.raises(ValueError, match="vote values must be"):
        opinions.fit([("p1", "s1", 1), ("p2", "s1", bad)])


def test_malformed_vote():
    with pytest.raises(ValueError):
        opinions.fit([("p1", "s1")])


def _continuum(n=600, n_statements=40, seed=0):
    """One continuous opinion axis: two groups that blend into each other, so the boundary runs
    through a dense region (as on the Pol.is Bowling Green conversation)."""
    rng = np.random.default_rng(seed)
    lean = rng.normal(0, 1, n)
    votes = []
    for p in range(n):
        for s in rng.choice(n_statements, size=rng.integers(8, n_statements), replace=False):
            direction = 1 if s < n_statements // 2 else -1
            agree = 1 / (1 + np.exp(-2 * direction * lean[p]))
            votes.append((p, int(s), 1 if rng.random() < agree else -1))
    return votes


def test_groups_do_not_depend_on_the_seed():
    from sklearn.metrics import adjusted_rand_score

    votes = _continuum()
    runs = [opinions.fit(votes, random_state=seed) for seed in range(4)]
    first = runs[0]
    for other in runs[1:]:
        assert set(other.groups) == set(first.groups)
        common = list(first.groups)
        assert adjusted_rand_score([first.groups[p] for p in common], [other.groups[p] for p in common]) >= 0.95


def test_three_planted_groups_are_found():
    rng = np.random.default_rng(3)
    stance = rng.choice([1, -1], size=(3, 30))
    votes = [
        (f"{g}-{i}", s, int(stance[g, s]) if rng.random() > 0.1 else -int(stance[g, s]))
        for g in range(3)
        for i in range(40)
        for s in range(30)
        if rng.random() < 0.7
    ]
    op = opinions.fit(votes)
    assert len(op.group_sizes) == 3
    for g in range(3):
        assert len({op.groups[f"{g}-{i}"] for i in range(40)}) == 1


def test_fewer_than_fifteen_regular_voters_are_topped_up_with_the_top_voters():
    # Pol.is in-conv: >= 7 votes, or the top voters until 15 participants are in
    votes = [(p, s, 1 if (p < 5) == (s % 2 == 0) else -1) for p in range(10) for s in range(10)]
    votes += [(100 + p, s, 1) for p in range(8) for s in range(2 + p % 3)]  # 2 to 4 votes each
    op = opinions.fit(votes)
    assert len(op.coords) == 15
    assert set(range(10)) <= set(op.coords)
    n_votes = np.array([10] * 10 + [2 + p % 3 for p in range(8)])
    chosen = opinions._in_conversation(n_votes, 10)
    assert chosen[:10].all() and chosen.sum() == 15
    assert chosen[10:].sum() == 5 and all(chosen[10 + p] for p in range(8) if 2 + p % 3 == 4)
