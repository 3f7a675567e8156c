"""The one place that opens archives someone else made (report packages uploaded for verification).

A zip file's directory says how many entries it holds, how each is compressed and how large it
becomes; an attacker writes whatever they like there. So before anything is decompressed the
directory is checked (number of entries, names, compression method, declared sizes, compression
ratio), and then every entry is read in chunks against a running cap, whatever the directory
said. Only ZIP_STORED and ZIP_DEFLATED are read: bzip2 and LZMA decompress far more slowly and
to far more (a 386-byte bzip2 entry held 300 MB). Decompressing is CPU work: callers run it off
the event loop (agora.jobs.off_loop).
"""

import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from agora.services.errors import Invalid, TooLarge

CHUNK = 64 * 1024
ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


@dataclass(frozen=True)
class Limits:
    max_entries: int = 64
    max_entry_bytes: int = 64 * 1024 * 1024  # one entry, uncompressed
    max_total_bytes: int = 128 * 1024 * 1024  # all entries together, uncompressed
    max_ratio: int = 100  # uncompressed / compressed, for entries over RATIO_FLOOR bytes
    ratio_floor: int = 1024 * 1024  # small entries may compress very well (a CSV of zeros)


DEFAULT_LIMITS = Limits()


class ArchiveTooLarge(TooLarge):
    code = "archive_too_large"


class ArchiveRefused(Invalid):
    code = "archive_refused"


class SafeZip:
    """A zip archive in memory whose directory has been checked; entries are read with caps."""

    def __init__(self, data: bytes, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
            raise ArchiveRefused(f"This is not a readable zip file ({error}).", code="not_a_zip") from None
        if len(infos) > limits.max_entries:
            raise ArchiveTooLarge(
                f"The archive holds {len(infos):,} entries; at most {limits.max_entries} are accepted."
            )
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ArchiveRefused("The archive holds two entries with the same name.", code="duplicate_entry")
        declared_total = 0
        for info in infos:
            if info.compress_type not in ALLOWED_METHODS:
                raise ArchiveRefused(
                    f"{info.filename}: compression method {info.compress_type} is not accepted (only stored and deflate).",
                    code="compression_method",
                )
            if info.flag_bits & 0x1:
                raise ArchiveRefused(f"{info.filename}: encrypted entries are not accepted.", code="encrypted")
            if info.file_size > limits.max_entry_bytes:
                raise ArchiveTooLarge(
                    f"{info.filename}: {info.file_size:,} bytes uncompressed; the limit is {limits.max_entry_bytes:,}."
                )
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ArchiveTooLarge(
                    f"{info.filename}: compressed more than {limits.max_ratio} to 1; refused as a possible zip bomb."
                )
            declared_total += info.file_size
        if declared_total > limits.max_total_bytes:
            raise ArchiveTooLarge(
                f"The archive is {declared_total:,} bytes uncompressed; the limit is {limits.max_total_bytes:,}."
            )
        self._infos = {info.filename: info for info in infos}
        self._budget = limits.max_total_bytes  # what all reads together may still produce

    def names(self) -> list[str]:
        return list(self._infos)

    def chunks(self, name: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """The entry's bytes, CHUNK at a time, never more than its cap, the total budget, or what
        the directory declared (a lying directory is refused, not believed)."""
        info = self._infos[name]  # KeyError for a missing entry, as zipfile does
        cap = min(max_bytes or self.limits.max_entry_bytes, self.limits.max_entry_bytes, info.file_size)
        produced = 0
        try:
            with self._zip.open(info) as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        return
                    produced += len(chunk)
                    if produced > cap or produced > self._budget:
                        raise ArchiveTooLarge(f"{name}: larger than allowed; refused as a possible zip bomb.")
                    self._budget -= len(chunk)
                    yield chunk
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
        ) as error:  # a bad CRC, a truncated stream
            raise ArchiveRefused(f"{name}: damaged ({error}).", code="damaged") from None

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        return b"".join(self.chunks(name, max_bytes))

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks(name):
            digest.update(chunk)
        return digest.hexdigest()
