"""Labelled real text shipped in ``data/`` and the fixed splits that training and evaluation share.

Splits are deterministic (hash of the row id, not a random draw) so ``train`` and ``evaluate``
agree on which rows are held out without storing index files.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Example:
    """One labelled text: ``label`` 1 abusive, 0 fine; ``group`` names its subset."""

    text: str
    label: int
    group: str


def _bucket(key: str) -> float:
    """A stable number in [0, 1) per row key: the split never changes between runs or machines."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(key: str, *, test: float = 0.2, calibration: float = 0.1) -> str:
    """'test', 'calibration' or 'train' for a row key."""
    b = _bucket(key)
    if b < test:
        return "test"
    if b < test + calibration:
        return "calibration"
    return "train"


def davidson(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _davidson(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _davidson(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """Davidson et al. tweets by split; hate (0) and offensive (1) are abusive, neither (2) is not."""
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    with open(data_dir / "davidson_hate_offensive" / "labeled_data.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            cls = int(row["class"])
            group = ("hate", "offensive", "neither")[cls]
            ex = Example(row["tweet"], 0 if cls == 2 else 1, group)
            out[split_of("davidson:" + row[""])].append(ex)
    return {k: tuple(v) for k, v in out.items()}


def polis(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _polis(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _polis(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """Pol.is civic statements by split; all label 0 (none is abusive; rejection there was curation).

    Accepted statements are split 50/50: half are civic negatives for training and calibration,
    the other half is held out for the false-hold rate. Rejected ones are never trained on.
    """
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": [], "rejected": []}
    with open(data_dir / "polis" / "comments.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["comment-body"]
            if row["moderated"] == "-1":
                out["rejected"].append(Example(text, 0, "polis_rejected"))
            elif row["moderated"] == "1":
                split = split_of("polis:" + row["comment-id"], test=0.5, calibration=0.15)
                out[split].append(Example(text, 0, "polis_accepted"))
    return {k: tuple(v) for k, v in out.items()}


def bill_titles(data_dir: Path = DATA_DIR) -> list[Example]:
    """US bill titles (formal civic prose), never trained on: a cross-domain false-hold check."""
    out = []
    with gzip.open(data_dir / "uscongress_cap" / "USCongress.csv.gz", "rt", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for row in reader:
            if row and row[-1].strip():
                out.append(Example(row[-1], 0, "bill_title"))
    return out
