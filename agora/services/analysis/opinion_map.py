"""The opinion map: participants as points on the opinion groups' own 2-D projection, each group's
convex hull, and where the reader stands after voting.

The points and groups are those of the latest opinions snapshot (``services.opinions``); the
reader is placed from their current votes with the snapshot's axes (``moderation.opinions.place``),
so the marker moves as they vote, before the groups are next recomputed. Participants are never
named: the map carries positions and group keys only, and the reader sees only themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from agora.extensions import db
from agora.models import Submission, ThemeSnapshot, User, Vote
from agora.services.analysis import themes

if TYPE_CHECKING:  # imported where used: the library loads on first use
    from moderation.opinions import OpinionGroups

_AREAS: dict[int, _Areas] = {}


@dataclass(frozen=True)
class GroupArea:
    key: object
    size: int
    hull: tuple  # polygon corners (x, y), in order; one or two points for tiny groups
    centre: tuple


_Areas = tuple[tuple, tuple[GroupArea, ...], "OpinionGroups"]  # a snapshot's points, group areas and fitted groups


@dataclass(frozen=True)
class You:
    x: float
    y: float
    group: object  # the key of the group whose centre is closest, or None
    votes: int


@dataclass(frozen=True)
class OpinionMap:
    snapshot_id: int
    computed_at: object
    points: tuple  # (x, y, group key or None) per placed participant
    groups: tuple  # GroupArea, largest first
    you: You | None
    my_votes: int  # the reader's votes on this consultation's views
    votes_needed: int  # votes a participant needs to be placed (Pol.is: 7, or every view if fewer)


def _hull(points: list[tuple[float, float]]) -> tuple:
    """Convex hull corners in order (scipy's Qhull); a degenerate group (all on a line or one
    point) keeps its extreme points."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return tuple(unique)
    import numpy as np
    from scipy.spatial import ConvexHull, QhullError

    array = np.asarray(unique)
    try:
        hull = ConvexHull(array)
    except QhullError:  # collinear: the segment between the two ends
        return (unique[0], unique[-1])
    return tuple((float(array[i, 0]), float(array[i, 1])) for i in hull.vertices)


def _areas(snapshot: ThemeSnapshot, vote: dict) -> _Areas:
    """Points, group areas and the fitted groups of one snapshot (kept per snapshot id)."""
    if snapshot.id in _AREAS:
        return _AREAS[snapshot.id]
    from moderation import opinions as opinion_lib

    fitted = opinion_lib.OpinionGroups.from_dict(vote)
    points = tuple((x, y, fitted.groups.get(p)) for p, (x, y) in fitted.coords.items())
    members: dict = {}
    for x, y, group in points:
        if group is not None:
            members.setdefault(group, []).append((x, y))
    areas = tuple(
        GroupArea(
            key=group,
            size=fitted.group_sizes.get(group, len(spots)),
            hull=_hull(spots),
            centre=(sum(s[0] for s in spots) / len(spots), sum(s[1] for s in spots) / len(spots)),
        )
        for group, spots in sorted(members.items(), key=lambda item: (-len(item[1]), str(item[0])))
    )
    _AREAS[snapshot.id] = (points, areas, fitted)
    while len(_AREAS) > 8:
        _AREAS.pop(next(iter(_AREAS)))
    return _AREAS[snapshot.id]


def _my_votes(consultation_id: int, user: User) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Vote.submission_id, Vote.value)
            .join(Submission, Submission.id == Vote.submission_id)
            .where(Vote.user_id == user.id, *themes.published_filter(consultation_id, None))
        ).all()
    )


def opinion_map(consultation_id: int, user: User | None = None) -> OpinionMap | None:
    """The map of the latest opinions snapshot, with the reader placed from their votes; None
    before the first snapshot with groups."""
    from moderation import opinions as opinion_lib

    snapshot = themes.latest_snapshot(consultation_id, None, "opinions")
    if snapshot is None:
        return None
    vote = themes.snapshot_data(snapshot).get("vote") or {}
    if not vote.get("coords"):
        return None
    points, areas, fitted = _areas(snapshot, vote)
    needed = min(opinion_lib.MIN_VOTES, fitted.axes.get("n_statements") or opinion_lib.MIN_VOTES)
    you, mine = None, {}
    if user is not None and getattr(user, "is_authenticated", False):
        mine = _my_votes(consultation_id, user)
        where = opinion_lib.place(mine, fitted.axes) if fitted.axes else fitted.coords.get(user.id)
        if where is not None and len(mine) >= needed:
            group = opinion_lib.nearest_group(where, fitted.coords, fitted.groups)
            you = You(x=where[0], y=where[1], group=group, votes=len(mine))
    return OpinionMap(
        snapshot_id=snapshot.id,
        computed_at=snapshot.finished_at or snapshot.created_at,
        points=points,
        groups=areas,
        you=you,
        my_votes=len(mine),
        votes_needed=needed,
    )
