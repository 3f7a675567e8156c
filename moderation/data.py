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
    """One labelled text: ``label`` 1 abusive, 0 fine; ``group`` names its subset; ``language``
    the language it is written in (ISO 639-1), when the data set says so."""

    text: str
    label: int
    group: str
    language: str | None = None


LANGUAGES = ("ar", "en", "es", "fr", "ru", "zh")  # the six UN languages the abuse model reads


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
            ex = Example(row["tweet"], 0 if cls == 2 else 1, group, "en")
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
                out["rejected"].append(Example(text, 0, "polis_rejected", "en"))
            elif row["moderated"] == "1":
                split = split_of("polis:" + row["comment-id"], test=0.5, calibration=0.15)
                out[split].append(Example(text, 0, "polis_accepted", "en"))
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


_HOSTILE = {"abusive", "hateful", "offensive", "disrespectful"}


def mlma(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _mlma(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _mlma(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """MLMA tweets (English, French, Arabic; Ousidhoum et al. 2019) by split.

    Abusive (1): annotated abusive, hateful, offensive or disrespectful, and not also "normal";
    fine (0): "normal" alone. Rows whose annotators disagreed (a hostile label beside "normal") or
    marked only "fearful" are left out: their label would be a guess."""
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    for lang in ("en", "fr", "ar"):
        with open(data_dir / "mlma_hate_speech" / f"{lang}_dataset.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                kinds = set(row["sentiment"].split("_"))
                if kinds == {"normal"}:
                    label = 0
                elif kinds & _HOSTILE and "normal" not in kinds:
                    label = 1
                else:
                    continue
                out[split_of(f"mlma:{lang}:{row['HITId']}")].append(Example(row["tweet"], label, f"mlma_{lang}", lang))
    return {k: tuple(v) for k, v in out.items()}


SIB_FILES = {"en": "eng_Latn", "fr": "fra_Latn", "es": "spa_Latn", "ru": "rus_Cyrl", "ar": "arb_Arab", "zh": "zho_Hans"}


def sib200(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _sib200(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _sib200(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """SIB-200 (Flores-200) sentences in the six UN languages, all fine (0): ordinary text for
    training and for the false-hold rate in each language. Split by the sentence's id, so a
    sentence and its translations are always in the same split (no leak through translation):
    50 % test, 15 % calibration, 35 % train."""
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    for lang, name in SIB_FILES.items():
        with open(data_dir / "sib200" / f"{name}.train.tsv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                split = split_of("sib200:" + row["index_id"], test=0.5, calibration=0.15)
                out[split].append(Example(row["text"], 0, "sib200", lang))
    return {k: tuple(v) for k, v in out.items()}


def contrast(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _contrast(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _contrast(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """Our hand-written contrast set (``data/contrast``): abuse of a person or a group, and talk
    about hate that is not abuse (counter-speech, quotation, testimony, negation, identity
    mentioned positively, profanity at no one, harsh civic disagreement), in the six languages.
    Group ``contrast:<category>``; split by id, 40 % test, 10 % calibration, 50 % train."""
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    with open(data_dir / "contrast" / "contrast.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            split = split_of("contrast:" + row["id"], test=0.4, calibration=0.1)
            out[split].append(Example(row["text"], int(row["label"]), "contrast:" + row["category"], row["language"]))
    return {k: tuple(v) for k, v in out.items()}


def civic(data_dir: Path = DATA_DIR) -> dict[str, list[Example]]:
    """Cached parse; callers get fresh lists they may change."""
    return {k: list(v) for k, v in _civic(Path(data_dir)).items()}


@lru_cache(maxsize=4)
def _civic(data_dir: Path) -> dict[str, tuple[Example, ...]]:
    """Ordinary civic statements we wrote in the six UN languages (``data/civic``), all fine (0),
    many naming people and identities (girls, migrants, religions…) as civic debate does: negatives
    for training, per-language calibration and the false-hold rate on civic text. Split by id:
    35 % test, 15 % calibration, 50 % train."""
    out: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    path = data_dir / "civic" / "civic.csv"
    if not path.exists():
        return {k: () for k in out}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            split = split_of("civic:" + row["id"], test=0.35, calibration=0.15)
            out[split].append(Example(row["text"], 0, "civic", row["language"]))
    return {k: tuple(v) for k, v in out.items()}
