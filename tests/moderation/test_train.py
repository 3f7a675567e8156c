"""Retraining from moderators' decisions: promoted only without regression. Pure: no app (~20 s)."""

import dataclasses

import pytest

from moderation import Moderator, data
from moderation.train import RetrainResult, retrain


def test_retrain_with_sound_decisions_is_promoted(tmp_path):
    rejected = [(e.text, 0) for e in data.polis()["rejected"]]  # curated out, but not abusive
    abusive = [(e.text, 1) for e in data.davidson()["calibration"] if e.label == 1][:300]
    out = tmp_path / "model"
    result = retrain(rejected + abusive, out)
    assert isinstance(result, RetrainResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.promoted = False
    assert result.promoted, result.reason
    assert result.path == str(out)
    new = Moderator.load(out)
    assert new.version == result.version_after != result.version_before
    assert result.after.recall >= 0.90 and result.after.false_hold <= 0.02
    assert new.score(["We need more bike lanes downtown."])[0].decision == "publish"


def test_retrain_with_poisoned_decisions_is_refused(tmp_path):
    flipped = [(e.text, 0) for e in data.davidson()["calibration"] if e.label == 1]
    out = tmp_path / "model"
    result = retrain(flipped, out)
    assert not result.promoted
    assert result.reason.startswith("regression")
    assert result.path is None and not out.exists()
    assert result.version_after == result.version_before
