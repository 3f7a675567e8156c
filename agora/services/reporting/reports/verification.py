"""Anyone can check a report: by number (the stored JSON still matches its frozen hash) or by
uploading a package, which verifies only if it is byte for byte the frozen one; everything else
wrong with it is named (changed files, entries outside the manifest, look-alike names, data hidden
around the entries). Archives are opened with the caps of agora.services.reporting.archives, off the event loop."""

import io
import json
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Report
from agora.services.reporting import archives
from agora.services.reporting.reports.encoding import digest

MAX_PACKAGE_BYTES = 50 * 1024 * 1024  # the largest package accepted for verification


@dataclass(frozen=True)
class Verification:
    ok: bool
    report_id: int | None
    message: str
    problems: tuple[str, ...] = field(default=())
    checked: tuple[str, ...] = field(default=())


def package_sha256(report: Report) -> str | None:
    """The frozen transmission package's own SHA-256 (what an uploaded package must equal)."""
    return digest(report.package) if report.package else None


def verify_report(report_id: int) -> Verification:
    report = db.session.get(Report, report_id, populate_existing=True)  # what is stored now, not a copy in memory
    if report is None or report.state != "frozen":
        return Verification(False, report_id, "There is no frozen report with this number.")
    actual = digest(report.content_json.encode("utf-8"))
    if actual != report.sha256:
        return Verification(
            False,
            report.id,
            "The stored report does not match its frozen hash.",
            (f"report.json: expected {report.sha256}, found {actual}",),
        )
    return Verification(
        True, report.id, f"Report {report.id} matches its frozen SHA-256 {report.sha256}.", (), ("report.json",)
    )


@dataclass(frozen=True)
class PackageContents:
    """What verification needs from an uploaded package: its manifest, every entry's SHA-256,
    the package's own SHA-256 and what is wrong with its layout."""

    manifest_bytes: bytes
    digests: dict[str, str]  # every entry but manifest.json
    sha256: str = ""
    layout_problems: tuple[str, ...] = ()


MAX_MANIFEST_BYTES = 1024 * 1024


# The only names a package holds (build_package); anything else is refused, look-alikes included.
PACKAGE_NAME = re.compile(r"(?:manifest\.json|report\.(?:json|html|pdf)|tables/[a-z0-9_]+\.csv)\Z")


def read_package(data: bytes) -> PackageContents:
    """Open an uploaded package with the archive caps and hash its entries in chunks (no
    database, no application context: it runs in a native thread, off the event loop)."""
    archive = archives.SafeZip(data)
    manifest_bytes = archive.read("manifest.json", max_bytes=MAX_MANIFEST_BYTES)
    digests = {name: archive.sha256(name) for name in archive.names() if name != "manifest.json"}
    return PackageContents(manifest_bytes, digests, digest(data), tuple(_layout_problems(data)))


def _lookalike_key(name: str) -> str:
    """What a name looks like to a reader: compatibility forms folded, case ignored, invisible
    and space characters dropped, backslashes as slashes, empty and "." path parts removed."""
    text = unicodedata.normalize("NFKC", name).replace("\\", "/").casefold()
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp"))
    return "/".join(part for part in text.split("/") if part not in ("", "."))


def _layout_problems(data: bytes) -> list[str]:
    """A package is its entries one after another from byte 0, then its directory, then the end
    record, nothing else: data before, between or after them (a polyglot, a hidden entry, a
    comment) is named. The directory was already checked by archives.SafeZip."""
    problems = []
    end = len(data) - 22
    if end < 0 or data[end : end + 4] != b"PK\x05\x06" or data[-2:] != b"\x00\x00":
        problems.append("the package: data after the end of the archive (or an archive comment)")
        return problems
    _sig, _disk, _cd_disk, _here, _total, cd_size, cd_offset, _comment = struct.unpack("<4s4H2LH", data[end:])
    if cd_offset + cd_size != end:
        problems.append("the package: data before the archive, or between its entries and its directory")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        position = 0
        for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
            if info.header_offset != position:
                problems.append(
                    "the package: data before the archive"
                    if position == 0
                    else f"the package: data hidden before {info.filename!r}"
                )
            header = data[info.header_offset : info.header_offset + 30]
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                problems.append(f"{info.filename!r}: no entry where the directory says")
                return problems
            name_length, extra_length = struct.unpack("<2H", header[26:30])
            position = info.header_offset + 30 + name_length + extra_length + info.compress_size
            if info.flag_bits & 0x8:  # a data descriptor follows the entry's data
                position += 16 if data[position : position + 4] == b"PK\x07\x08" else 12
        if position != min(cd_offset, end) and not problems:
            problems.append("the package: data hidden after the last entry")
    return list(dict.fromkeys(problems))


def _name_problems(names: set[str], expected: set[str]) -> list[str]:
    """Entry names a package never holds, named as look-alikes of a genuine one when they are."""
    problems = []
    genuine = {_lookalike_key(name): name for name in expected | {"manifest.json"}}
    seen: dict[str, str] = {}
    for name in sorted(names):
        key = _lookalike_key(name)
        if key in seen:
            problems.append(f"{name!r}: looks like {seen[key]!r}, another entry of this package")
        seen.setdefault(key, name)
        if not PACKAGE_NAME.match(name):
            if key in genuine:
                problems.append(f"{name!r}: looks like {genuine[key]!r} but is not that name")
            else:
                problems.append(f"{name!r}: not a name a report package holds")
    return problems


def verify_package(data: bytes) -> Verification:
    """Check an uploaded package against what was frozen: manifest, then every file.

    :raise TooLarge, Invalid: an archive over the caps of agora.services.reporting.archives (a zip bomb),
        or one compressed other than stored/deflate, encrypted or damaged."""
    not_a_package = Verification(
        False, None, "This is not an Agora report package (no readable manifest.json in a zip file)."
    )
    try:
        contents = off_loop(read_package, data)
    except archives.ArchiveRefused as error:
        if error.code == "not_a_zip":
            return not_a_package
        raise
    except KeyError:  # no manifest.json
        return not_a_package
    try:
        manifest = json.loads(contents.manifest_bytes)
        report_id = int(manifest["report_id"])
    except (KeyError, ValueError, TypeError):
        return not_a_package
    manifest_bytes, digests, names = (
        contents.manifest_bytes,
        contents.digests,
        set(contents.digests) | {"manifest.json"},
    )
    report = db.session.get(Report, report_id, populate_existing=True)
    if report is None or report.state != "frozen":
        return Verification(False, report_id, "The package names a report that was never frozen here.")
    problems = list(contents.layout_problems)
    listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    problems += _name_problems(names, set(listed))
    frozen_sha256 = package_sha256(report)
    if frozen_sha256 and contents.sha256 != frozen_sha256:
        problems.append(
            f"the package: its SHA-256 {contents.sha256[:12]}… is not the frozen package's {frozen_sha256[:12]}…"
        )
    if digest(manifest_bytes) != report.manifest_sha256:
        problems.append("manifest.json: changed since the report was frozen")
    if manifest.get("report_sha256") != report.sha256:
        problems.append("manifest.json: names another report hash")
    checked = []
    for name, expected in sorted(listed.items()):
        if name not in names:
            problems.append(f"{name}: missing")
            continue
        found = digests[name]
        checked.append(name)
        if found != expected:
            problems.append(f"{name}: changed (expected {expected[:12]}…, found {found[:12]}…)")
    if "report.json" in names and digests["report.json"] != report.sha256:
        problems.append("report.json: does not match the frozen report")
    extra = sorted(names - set(listed) - {"manifest.json"})
    problems += [f"{name!r}: not part of the frozen package (not in its manifest)" for name in extra]
    if problems:
        return Verification(
            False,
            report.id,
            f"This package does NOT match report {report.id} as frozen.",
            tuple(dict.fromkeys(problems)),
            tuple(checked),
        )
    return Verification(
        True,
        report.id,
        f"This package matches report {report.id} as frozen (SHA-256 {report.sha256}; package SHA-256 {contents.sha256}).",
        (),
        tuple(checked),
    )
