"""Opinion groups from agree / disagree / pass votes: the Pol.is method, reimplemented.

Following compdemocracy/polis ``math/src/polismath/math/`` (conversation.clj, pca.clj,
clusters.clj): the two principal axes of the whole participant x statement matrix (a missing vote
is imputed with the statement's mean, not taken as a pass); each participant projected from their
own votes and scaled by sqrt(n_statements / n_votes), so sparse voters are not pulled to the centre;
participants "in the conversation" (>= 7 votes, or all statements if fewer; the top voters when
fewer than 15 qualify) clustered into 100 base clusters, then base clusters into k in
2..min(5, 2 + n_base / 12) groups by k-means weighted by base-cluster size, k by the silhouette
of the base-cluster centres; then group-aware consensus, representative statements (repness) and
divisive ones. With ``previous``, the group k-means starts from the previous groups (Pol.is'
``last-clusters``) and the previous k is kept unless another is clearly better.

Where we differ, and why: Pol.is never starts cold (each update warm-starts from the last one; its
cold start takes the first k distinct points), so its groups depend on the order votes arrived.
We start k-means++ and then finish the chosen groups' k-means on the participants themselves, so
a boundary through a dense region does not move with the random start of the base clusters. The
axes come from an exact truncated SVD (what Pol.is' power iteration converges to). Pol.is keeps
moderated-out statements as columns of zeros; callers here leave their votes out instead.

Why one module of ~550 lines: one algorithm (Pol.is's), kept in the order of the files it follows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scipy is imported where used
    from scipy import sparse

__all__ = ["OpinionGroups", "extremity", "fit", "nearest_group", "place"]

MIN_VOTES = 7  # Pol.is: participants need this many votes (or all statements if fewer) to be placed
GREEDY_N = 15  # Pol.is: if fewer than this many qualify, the top voters are placed anyway
BASE_K = 100  # Pol.is base-k
MAX_K = 5  # Pol.is max-k
FINAL_RESTARTS = 10  # k-means++ starts for the participant-level k-means on a cold start
Z_90 = 1.2816  # one-sided 90% z, Pol.is's significance threshold for repness

# A participant's, statement's or group's id: whatever the caller's votes and groups use (ints,
# strings; a group is its number when vote-derived, the declared value otherwise).
Id = Any
Vote = tuple[Id, Id, float]  # (participant, statement, 1 agree | -1 disagree | 0 pass)
_Representative = tuple[int, str, float, float]  # (statement index, direction, ratio, in-group share)


@dataclass(frozen=True)
class OpinionGroups:
    """Opinion groups of participants and what agrees, splits and characterises them."""

    groups: dict[Id, Id]  # participant -> group
    consensus: list[Id]
    divisive: list[Id]
    representative: dict[Id, list[Id]]  # group -> its statements
    coords: dict[Id, tuple[float, float]] = field(default_factory=dict)
    group_sizes: dict[Id, int] = field(default_factory=dict)
    declared: bool = False
    k_chosen_by: str = ""
    statement_stats: dict[Id, dict[str, float]] = field(default_factory=dict, repr=False)
    # per group: [{"statement", "direction" ("agree"/"disagree"), "ratio" (in-group share /
    # out-group share), "share" (in-group smoothed share)}], same order as ``representative``
    representative_detail: dict[Id, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    # The projection itself, so a participant can be placed from their own votes later without
    # refitting (Pol.is projects a new voter the same way): per statement, its mean vote and its
    # loadings on the two axes; ``n_statements`` is the matrix width the sparsity scale uses.
    axes: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; ids kept as [key, value] pairs so int ids survive JSON."""
        return {
            "version": 1,
            "groups": [[p, g] for p, g in self.groups.items()],
            "consensus": list(self.consensus),
            "divisive": list(self.divisive),
            "representative": [[g, list(s)] for g, s in self.representative.items()],
            "coords": [[p, [x, y]] for p, (x, y) in self.coords.items()],
            "group_sizes": [[g, n] for g, n in self.group_sizes.items()],
            "declared": self.declared,
            "k_chosen_by": self.k_chosen_by,
            "statement_stats": [[s, v] for s, v in self.statement_stats.items()],
            "representative_detail": [[g, d] for g, d in self.representative_detail.items()],
            "axes": {
                "n_statements": self.axes.get("n_statements", 0),
                "statements": [[s, m, c1, c2] for s, (m, c1, c2) in self.axes.get("statements", {}).items()],
            }
            if self.axes
            else {},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpinionGroups:
        """Rebuild an OpinionGroups stored with ``to_dict``."""
        if data.get("version") != 1:
            raise ValueError(f"unknown OpinionGroups version {data.get('version')!r}")
        return cls(
            groups={_key(p): _key(g) for p, g in data["groups"]},
            consensus=[_key(s) for s in data["consensus"]],
            divisive=[_key(s) for s in data["divisive"]],
            representative={_key(g): [_key(s) for s in ss] for g, ss in data["representative"]},
            coords={_key(p): (float(x), float(y)) for p, (x, y) in data["coords"]},
            group_sizes={_key(g): int(n) for g, n in data["group_sizes"]},
            declared=bool(data["declared"]),
            k_chosen_by=data["k_chosen_by"],
            statement_stats={_key(s): v for s, v in data["statement_stats"]},
            representative_detail={
                _key(g): [{**item, "statement": _key(item["statement"])} for item in d]
                for g, d in data.get("representative_detail", [])
            },
            axes={
                "n_statements": int(data["axes"]["n_statements"]),
                "statements": {
                    _key(s): (float(m), float(c1), float(c2)) for s, m, c1, c2 in data["axes"]["statements"]
                },
            }
            if data.get("axes")
            else {},
        )


def _key(value: Id) -> Id:
    return tuple(value) if isinstance(value, list) else value


def _python(value: Id) -> Id:
    """numpy scalars back to plain Python, so results serialise as JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _read_votes(votes: Iterable[Vote] | np.ndarray) -> tuple[list[Id], list[Id], np.ndarray, np.ndarray, np.ndarray]:
    """Arrays (participant index, statement index, value) with the last vote of a pair winning."""
    if isinstance(votes, np.ndarray) and votes.ndim == 2 and votes.shape[1] == 3:
        pids, sids, values = votes[:, 0], votes[:, 1], votes[:, 2]
    else:
        votes = votes if isinstance(votes, list) else list(votes)
        fast = None
        if votes and isinstance(votes[0], tuple) and all(isinstance(x, (int, np.integer)) for x in votes[0]):
            try:  # all-integer ids and values: one C-level conversion instead of a Python loop
                fast = np.asarray(votes)
            except (ValueError, TypeError):
                fast = None
            if fast is not None and not (fast.ndim == 2 and fast.shape[1] == 3 and fast.dtype.kind in "iu"):
                fast = None
        if fast is not None:
            pids, sids, values = fast[:, 0], fast[:, 1], fast[:, 2]
        elif not votes:
            pids = sids = values = np.array([])
        else:
            try:
                pids, sids, values = (np.asarray(col) for col in zip(*votes))
            except ValueError as exc:
                raise ValueError("each vote must be (participant_id, statement_id, value)") from exc
            if len(pids) != len(votes):
                raise ValueError("each vote must be (participant_id, statement_id, value)")
    try:
        numeric = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        bad = next(v for v in values if not _is_number(v))
        raise ValueError(f"vote values must be 1 (agree), -1 (disagree) or 0 (pass); got {bad!r}") from None
    invalid = ~np.isin(numeric, (-1.0, 0.0, 1.0))
    if invalid.any():
        bad = values[int(np.flatnonzero(invalid)[0])]
        raise ValueError(f"vote values must be 1 (agree), -1 (disagree) or 0 (pass); got {_python(bad)!r}")
    participants, p_index = np.unique(pids, return_inverse=True) if len(pids) else (np.array([]), np.array([], int))
    statements, s_index = np.unique(sids, return_inverse=True) if len(sids) else (np.array([]), np.array([], int))
    p_index = p_index.ravel().astype(np.int64)
    s_index = s_index.ravel().astype(np.int64)
    # Last vote wins: keep the last occurrence of each (participant, statement) pair.
    if len(p_index):
        pair = p_index * max(len(statements), 1) + s_index
        _, last_rev = np.unique(pair[::-1], return_index=True)
        keep = np.sort(len(pair) - 1 - last_rev)
        p_index, s_index, numeric = p_index[keep], s_index[keep], numeric[keep]
    return [_python(p) for p in participants], [_python(s) for s in statements], p_index, s_index, numeric


def _is_number(value: Id) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def fit(
    votes: Iterable[Vote] | np.ndarray,
    groups: dict[Id, Id] | None = None,
    *,
    previous: OpinionGroups | None = None,
    min_votes: int = MIN_VOTES,
    top: int = 10,
    random_state: int = 0,
) -> OpinionGroups:
    """Opinion groups and group-aware statistics from ``(participant, statement, value)`` votes.

    ``groups={participant: declared_group}``: use declared groups (e.g. constituencies) instead of
    vote-derived ones. ``previous``: an earlier result; its number of groups is kept unless another
    is clearly better, and group numbers are matched to it so they stay stable across updates.
    """
    from scipy import sparse

    participants, statements, p_idx, s_idx, values = _read_votes(votes)
    n_p, n_s = len(participants), len(statements)
    if n_s == 0:
        return OpinionGroups(
            groups={}, consensus=[], divisive=[], representative={}, declared=groups is not None, k_chosen_by="no votes"
        )
    agree = sparse.csr_matrix(((values == 1).astype(np.float64), (p_idx, s_idx)), shape=(n_p, n_s))
    disagree = sparse.csr_matrix(((values == -1).astype(np.float64), (p_idx, s_idx)), shape=(n_p, n_s))
    seen = sparse.csr_matrix((np.ones(len(values)), (p_idx, s_idx)), shape=(n_p, n_s))
    agree.eliminate_zeros()
    disagree.eliminate_zeros()
    n_votes = np.asarray(seen.sum(axis=1)).ravel()

    coords_arr, in_pca, means, vt = _project(p_idx, s_idx, values, n_p, n_s, n_votes, min_votes, random_state)

    k_chosen_by = ""
    if groups is not None:
        lookup = {p: i for i, p in enumerate(participants)}
        declared = [None] * n_p
        for p, g in groups.items():
            i = lookup.get(p)
            if i is not None and g is not None:
                declared[i] = g
        group_keys: list[Any] = sorted({g for g in declared if g is not None}, key=repr)
        code = {g: c for c, g in enumerate(group_keys)}
        label_codes = np.array([code[g] if g is not None else -1 for g in declared], dtype=int)
        k_chosen_by = "declared groups"
    else:
        label_codes, k_chosen_by = _cluster(coords_arr, in_pca, previous, participants, random_state)
        group_keys = list(range(int(label_codes.max()) + 1)) if (label_codes >= 0).any() else []

    stats = _statement_stats(agree, disagree, seen, label_codes, len(group_keys))
    consensus, divisive, representative, per_statement = _summaries(stats, len(group_keys), top)

    placed = np.flatnonzero(label_codes >= 0)
    return OpinionGroups(
        groups={participants[i]: _python(group_keys[label_codes[i]]) for i in placed},
        consensus=[statements[s] for s in consensus],
        divisive=[statements[s] for s in divisive],
        representative={_python(group_keys[g]): [statements[s] for s, *_ in ss] for g, ss in representative.items()},
        representative_detail={
            _python(group_keys[g]): [
                {"statement": statements[s], "direction": d, "ratio": r, "share": sh} for s, d, r, sh in ss
            ]
            for g, ss in representative.items()
        },
        coords={
            participants[i]: (round(float(coords_arr[i, 0]), 4), round(float(coords_arr[i, 1]), 4))
            for i in np.flatnonzero(in_pca)
        },
        group_sizes={_python(group_keys[g]): int(np.count_nonzero(label_codes == g)) for g in range(len(group_keys))},
        declared=groups is not None,
        k_chosen_by=k_chosen_by,
        statement_stats={statements[s]: v for s, v in per_statement.items()},
        axes={
            "n_statements": n_s,
            "statements": {
                statements[s]: (round(float(means[s]), 6), round(float(vt[0, s]), 6), round(float(vt[1, s]), 6))
                for s in range(n_s)
            },
        }
        if vt is not None and means is not None
        else {},  # (both None together)
    )


def place(own_votes: Mapping[Id, float], axes: dict[str, Any]) -> tuple[float, float] | None:
    """Where one participant falls on the map from their own votes ``{statement: 1 | -1 | 0}``:
    the same sparsity-aware projection as everyone placed by ``fit`` (Pol.is projects a newcomer
    this way between updates). None when no vote is on a statement of the projection."""
    loadings = axes.get("statements") or {}
    known = [(value, loadings[s]) for s, value in own_votes.items() if s in loadings]
    if not known:
        return None
    x = sum((value - mean) * c1 for value, (mean, c1, _c2) in known)
    y = sum((value - mean) * c2 for value, (mean, _c1, c2) in known)
    scale = float(np.sqrt(axes["n_statements"] / len(known)))
    return round(x * scale, 4), round(y * scale, 4)


def extremity(axes: dict[str, Any]) -> dict[Id, float]:
    """Per statement, how far agreeing with it alone moves a participant on the map (Pol.is'
    ``comment-extremity``, the length of the statement's own projection): statements that pull
    the groups apart are long, statements everyone treats alike are short."""
    n = axes.get("n_statements") or 0
    return {
        s: float(abs(1 - mean) * np.hypot(c1, c2) * np.sqrt(n))
        for s, (mean, c1, c2) in (axes.get("statements") or {}).items()
    }


def nearest_group(
    point: tuple[float, float] | None, coords: dict[Id, tuple[float, float]], groups: dict[Id, Id]
) -> Id | None:
    """The group whose members' centre is closest to ``point`` (how a newcomer would be grouped
    before the next update); None without groups."""
    sums: dict[Id, list[float]] = {}
    for participant, group in groups.items():
        xy = coords.get(participant)
        if xy is not None:
            entry = sums.setdefault(group, [0.0, 0.0, 0])
            entry[0] += xy[0]
            entry[1] += xy[1]
            entry[2] += 1
    if point is None or not sums:
        return None
    return min(
        sums, key=lambda g: (point[0] - sums[g][0] / sums[g][2]) ** 2 + (point[1] - sums[g][1] / sums[g][2]) ** 2
    )


def _in_conversation(n_votes: np.ndarray, n_s: int, min_votes: int = MIN_VOTES) -> np.ndarray:
    """Pol.is ``in-conv``: who is clustered. Everyone with at least min(7, n_statements) votes; if
    that is fewer than 15 people, the top voters are added until there are 15."""
    in_conv = (n_votes >= min(min_votes, n_s)) & (n_votes > 0)
    short = GREEDY_N - int(in_conv.sum())
    if short > 0:
        others = np.flatnonzero(~in_conv & (n_votes > 0))
        top = others[np.argsort(-n_votes[others], kind="stable")[:short]]
        in_conv[top] = True
    return in_conv


def _project(
    p_idx: np.ndarray,
    s_idx: np.ndarray,
    values: np.ndarray,
    n_p: int,
    n_s: int,
    n_votes: np.ndarray,
    min_votes: int,
    random_state: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Pol.is' sparsity-aware 2-D PCA projection (``pca.clj``), for those ``_in_conversation``.

    The axes are the top two principal components of the whole vote matrix (every participant who
    voted, missing votes imputed with the statement's mean); each participant is projected from
    their own votes only and scaled by sqrt(n_statements / n_votes) (``sparsity-aware-project``).
    """
    from scipy import sparse

    coords = np.zeros((n_p, 2))
    in_pca = _in_conversation(n_votes, n_s, min_votes) if n_s else np.zeros(n_p, bool)
    if in_pca.sum() < 2 or n_s < 2:
        return coords, in_pca, None, None
    # Centre each statement on its mean observed vote (over everyone, as Pol.is): a missing vote is
    # the mean, i.e. zero after centring, so the imputed matrix stays sparse.
    sums = np.bincount(s_idx, weights=values, minlength=n_s)
    counts = np.bincount(s_idx, minlength=n_s)
    means = np.divide(sums, counts, out=np.zeros(n_s), where=counts > 0)
    centred = sparse.csr_matrix((values - means[s_idx], (p_idx, s_idx)), shape=(n_p, n_s))
    centred.eliminate_zeros()
    if centred.nnz == 0:
        return coords, in_pca, None, None
    from scipy.sparse.linalg import svds

    # Pol.is runs power iteration (100 steps, warm-started) for the top two components; an exact
    # truncated SVD gives the components that iteration converges to.
    sub = centred[np.flatnonzero(n_votes > 0)]
    try:
        if min(sub.shape) > 3:
            # A fixed start vector: the axes must not depend on the seed (when the second and third
            # eigenvalues are close, ARPACK's random start would pick a different second axis).
            v0 = np.random.default_rng(0).uniform(0.5, 1.5, size=min(sub.shape))
            _, _, vt = svds(sub, k=2, v0=v0)
            vt = vt[::-1]
        else:
            _, _, vt = np.linalg.svd(sub.toarray(), full_matrices=False)
            vt = vt[:2]
    except Exception:  # ARPACK can fail on tiny or degenerate matrices; dense SVD then
        _, _, vt = np.linalg.svd(sub.toarray(), full_matrices=False)
        vt = vt[:2]
    if vt.shape[0] < 2:
        vt = np.vstack([vt, np.zeros((2 - vt.shape[0], n_s))])
    # Deterministic sign: the largest loading of each axis is positive.
    for a in range(2):
        if vt[a, np.argmax(np.abs(vt[a]))] < 0:
            vt[a] = -vt[a]
    scale = np.sqrt(n_s / np.maximum(n_votes, 1))
    coords = np.asarray(centred @ vt.T) * scale[:, None]
    coords[~in_pca] = 0.0
    return coords, in_pca, means, vt


def _cluster(
    coords: np.ndarray, in_pca: np.ndarray, previous: OpinionGroups | None, participants: list[Id], random_state: int
) -> tuple[np.ndarray, str]:
    """Pol.is two-level clustering (``clusters.clj``): 100 base clusters, then k in 2..5 groups of
    base clusters (k-means weighted by base-cluster size), k by the silhouette of the base-cluster
    centres; finally the chosen groups' k-means is finished on the participants themselves."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.metrics import silhouette_score

    labels = np.full(len(coords), -1)
    idx = np.flatnonzero(in_pca)
    points = coords[idx]
    distinct = len(np.unique(np.round(points, 9), axis=0)) if len(points) else 0
    if len(idx) < 4 or distinct < 2:
        return labels, "no groups: too few participants with enough votes"
    n_base = int(min(BASE_K, distinct))
    if len(points) > 20000:
        base = MiniBatchKMeans(n_clusters=n_base, n_init=1, batch_size=4096, random_state=random_state).fit(points)
    else:
        base = KMeans(n_clusters=n_base, n_init=1, random_state=random_state).fit(points)
    weights = np.bincount(base.labels_, minlength=n_base).astype(float)
    used = weights > 0  # Pol.is drops base clusters that end up empty
    centres, weights = base.cluster_centers_[used], weights[used]
    n_base = len(centres)
    prev_k = (
        len(set(previous.groups.values()))
        if previous is not None and previous.groups and not previous.declared
        else None
    )
    warm = _previous_centres(points, idx, previous, participants) if previous is not None and prev_k else None
    # Pol.is max-k-fn: min(5, 2 + n_base_clusters / 12)
    max_k = int(min(MAX_K, 2 + n_base // 12, n_base))
    best_k, best_score, scores = None, -2.0, {}
    for k in range(2, max_k + 1):
        if warm is not None and len(warm) == k:  # Pol.is starts from the last clustering (last-clusters)
            model = KMeans(n_clusters=k, init=warm, n_init=1).fit(centres, sample_weight=weights)
        else:
            model = KMeans(n_clusters=k, n_init=5, random_state=random_state).fit(centres, sample_weight=weights)
        if len(set(model.labels_)) < 2:
            continue
        # Pol.is: silhouette of the base-cluster centres (unweighted; a singleton scores 0), best k
        n_labels = len(set(model.labels_))
        score = float(silhouette_score(centres, model.labels_)) if n_labels < n_base else 0.0
        scores[k] = (score, model)
        if score > best_score:
            best_k, best_score = k, score
    if best_k is None:
        return labels, "no groups: participants do not separate"
    # Stability: keep the previous number of groups unless the new best is clearly better (Pol.is
    # smooths k too, switching only after the same new k wins 4 updates in a row).
    if prev_k in scores and scores[prev_k][0] >= best_score - 0.02:
        best_k = prev_k
    model = scores[best_k][1]
    # Finish the same k-means on the participants themselves: a boundary drawn between base
    # clusters moves with their random start. From the groups found (and, on a cold start, from
    # fresh k-means++ starts too) Lloyd runs to convergence and the lowest within-group sum of
    # squares wins, so the seed no longer decides where a boundary through a dense region falls.
    # A warm start keeps its own optimum: groups should not jump between updates.
    final = KMeans(n_clusters=best_k, init=model.cluster_centers_, n_init=1, tol=0.0, max_iter=1000).fit(points)
    if not (warm is not None and len(warm) == best_k):
        fresh = KMeans(n_clusters=best_k, n_init=FINAL_RESTARTS, tol=0.0, max_iter=1000, random_state=random_state).fit(
            points
        )
        if fresh.inertia_ < final.inertia_:
            final = fresh
    group_of = final.labels_
    # Order groups by size (largest = 0) for a deterministic numbering.
    sizes = np.bincount(group_of, minlength=best_k)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(best_k, dtype=int)
    rank[order] = np.arange(best_k)
    labels[idx] = rank[group_of]
    if previous is not None and previous.groups and not previous.declared:
        labels = _match_previous(labels, previous, participants)
    summary = ", ".join(f"k={k}: {s:.3f}" for k, (s, _) in sorted(scores.items()))
    return labels, f"silhouette of {n_base} base-cluster centres ({summary}) -> k={best_k}"


def _previous_centres(
    points: np.ndarray, idx: np.ndarray, previous: OpinionGroups, participants: list[Id]
) -> np.ndarray | None:
    """Centres of the previous groups in today's projection (Pol.is' ``last-clusters``)."""
    members: dict[Id, list[int]] = {}
    for row, i in enumerate(idx):
        g = previous.groups.get(participants[i])
        if g is not None:
            members.setdefault(g, []).append(row)
    if len(members) < 2:
        return None
    return np.array([points[rows].mean(axis=0) for _, rows in sorted(members.items(), key=lambda kv: repr(kv[0]))])


def _match_previous(labels: np.ndarray, previous: OpinionGroups, participants: list[Id]) -> np.ndarray:
    """Renumber groups to overlap best with the previous result (Hungarian on shared members)."""
    from scipy.optimize import linear_sum_assignment

    old_keys = sorted(set(previous.groups.values()))
    k = labels.max() + 1
    overlap = np.zeros((k, len(old_keys)))
    old_pos = {g: j for j, g in enumerate(old_keys)}
    for i, p in enumerate(participants):
        if labels[i] >= 0 and p in previous.groups:
            overlap[labels[i], old_pos[previous.groups[p]]] += 1
    rows, cols = linear_sum_assignment(-overlap)
    mapping = {}
    used = set()
    for r, c in zip(rows, cols):
        if isinstance(old_keys[c], int) and overlap[r, c] > 0:
            mapping[r] = old_keys[c]
            used.add(old_keys[c])
    fresh = (i for i in range(k + len(old_keys) + 1) if i not in used)
    for r in range(k):
        if r not in mapping:
            mapping[r] = next(fresh)
    return np.array([mapping[label] if label >= 0 else -1 for label in labels])


def _statement_stats(
    agree: sparse.csr_matrix, disagree: sparse.csr_matrix, seen: sparse.csr_matrix, labels: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """Per group (and overall) counts of agrees, disagrees and votes for each statement."""
    from scipy import sparse

    n_p = agree.shape[0]
    if n_groups == 0:
        member = sparse.csr_matrix((1, n_p))
    else:
        placed = np.flatnonzero(labels >= 0)
        member = sparse.csr_matrix((np.ones(len(placed)), (labels[placed].astype(int), placed)), shape=(n_groups, n_p))
    everyone = sparse.csr_matrix(np.ones((1, n_p)))
    return {
        "na": np.asarray((member @ agree).todense()).reshape(-1, agree.shape[1])[:n_groups],
        "nd": np.asarray((member @ disagree).todense()).reshape(-1, agree.shape[1])[:n_groups],
        "ns": np.asarray((member @ seen).todense()).reshape(-1, agree.shape[1])[:n_groups],
        "all_na": np.asarray((everyone @ agree).todense()).ravel(),
        "all_nd": np.asarray((everyone @ disagree).todense()).ravel(),
        "all_ns": np.asarray((everyone @ seen).todense()).ravel(),
    }


def _prop_test(succ: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Pol.is's one-proportion test against 1/2 (with a pseudo-count)."""
    z: np.ndarray = 2 * np.sqrt(n + 1) * ((succ + 1) / (n + 1) - 0.5)
    return z


def _two_prop_test(s1: np.ndarray, n1: np.ndarray, s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Pol.is's two-proportion z-test (with pseudo-counts)."""
    s1, n1, s2, n2 = s1 + 1, n1 + 1, s2 + 1, n2 + 1
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    denom = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z: np.ndarray = np.divide(p1 - p2, denom, out=np.zeros_like(p1, dtype=float), where=denom > 0)
    return z


def _summaries(
    stats: dict[str, np.ndarray],
    n_groups: int,
    top: int,
) -> tuple[list[int], list[int], dict[int, list[_Representative]], dict[int, dict[str, float]]]:
    """Consensus, divisive and representative statements from the vote counts."""
    all_na, all_nd, all_ns = stats["all_na"], stats["all_nd"], stats["all_ns"]
    n_s = len(all_ns)
    if n_groups >= 1:
        na, nd, ns = stats["na"], stats["nd"], stats["ns"]
    else:  # no groups: everyone is one group
        na, nd, ns = all_na[None, :], all_nd[None, :], all_ns[None, :]
    pa = (na + 1) / (ns + 2)  # Laplace-smoothed agree probability per group
    pd = (nd + 1) / (ns + 2)
    # Group-aware consensus (Pol.is): product over groups of the smoothed agree probability;
    # a statement counts as consensus when a majority agrees in every group.
    consensus_score = np.prod(pa, axis=0)
    voted = (ns > 0).all(axis=0) & (all_ns >= 2)
    agreed = voted & (pa > 0.5).all(axis=0) & (na > nd).all(axis=0)
    consensus = [int(s) for s in np.argsort(-consensus_score, kind="stable") if agreed[s]][:top]

    divisive: list[int] = []
    representative: dict[int, list[_Representative]] = {}
    spread = np.zeros(n_s)
    if n_groups >= 2:
        # Divisive: the largest gap between groups in (agree - disagree) share.
        net = pa - pd
        spread = net.max(axis=0) - net.min(axis=0)
        enough = np.asarray((ns >= 2).all(axis=0))  # per statement (``all`` is typed as maybe one bool)
        divisive = [int(s) for s in np.argsort(-spread, kind="stable") if enough[s] and spread[s] > 0.2][:top]
        for g in range(n_groups):
            out_na, out_nd, out_ns = all_na - na[g], all_nd - nd[g], all_ns - ns[g]
            pa_out = (out_na + 1) / (out_ns + 2)
            pd_out = (out_nd + 1) / (out_ns + 2)
            best: list[tuple[float, int, str, float, float]] = []  # (metric, statement, direction, ratio, share)
            for direction, n_in, p_in, n_out, p_out in (
                ("agree", na[g], pa[g], out_na, pa_out),
                ("disagree", nd[g], pd[g], out_nd, pd_out),
            ):
                ratio = p_in / p_out
                p_test = _prop_test(n_in, ns[g])
                r_test = _two_prop_test(n_in, ns[g], n_out, out_ns)
                significant = (p_test > Z_90) & (r_test > Z_90) & (ratio > 1) & (ns[g] > 0)
                metric = ratio * r_test * p_in * p_test
                best.extend(
                    (float(metric[s]), int(s), direction, round(float(ratio[s]), 4), round(float(p_in[s]), 4))
                    for s in np.flatnonzero(significant)
                )
            best.sort(key=lambda item: (-item[0], item[1]))
            chosen: list[_Representative] = []
            seen_s: set[int] = set()
            for _, s, direction, ratio_s, share in best:
                if s not in seen_s:
                    seen_s.add(s)
                    chosen.append((s, direction, ratio_s, share))
                if len(chosen) >= 5:
                    break
            representative[g] = chosen
    per_statement = {
        s: {
            "votes": int(all_ns[s]),
            "agree": int(all_na[s]),
            "disagree": int(all_nd[s]),
            "consensus": round(float(consensus_score[s]), 6),
            "spread": round(float(spread[s]), 6),
        }
        for s in range(n_s)
    }
    return consensus, divisive, representative, per_statement
