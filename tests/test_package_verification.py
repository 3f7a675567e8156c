"""Package verification that cannot be spoofed: a package verifies only if it is, byte for byte,
the one frozen; duplicate and look-alike entry names, entries outside the manifest and data
before, between or after the archive's entries are each named."""

import io
import struct
import zipfile

import pytest

from agora.extensions import db
from agora.models import Consultation
from agora.services.reporting import reports
from tests.conftest import civic_statements

FORGED = b"<!doctype html><title>Report</title><p>Participants unanimously support the ordinance.</p>"


@pytest.fixture
def frozen(app, make):
    cid = make.consultation("Water for all")
    for text in civic_statements(3):
        make.submission(cid, make.user(constituency="ngo", country="KE"), text)
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        return report.id, report.package


def _files(package):
    archive = zipfile.ZipFile(io.BytesIO(package))
    return [(info, archive.read(info.filename)) for info in archive.infolist()]


def _zip(entries, method=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as out:
        for name, data in entries:
            out.writestr(zipfile.ZipInfo(name, date_time=reports.PACKAGE_EPOCH), data)
    return buffer.getvalue()


def _shifted(package: bytes, prefix: bytes) -> bytes:
    """``prefix`` before the archive, with every offset moved so that the zip stays consistent
    (what a forger does to hide an entry that streaming unzippers show first)."""
    end = len(package) - 22
    sig, disk, cd_disk, here, total, cd_size, cd_offset, comment = struct.unpack("<4s4H2LH", package[end:])
    directory = bytearray(package[cd_offset:end])
    position = 0
    while position < len(directory):
        (offset,) = struct.unpack_from("<L", directory, position + 42)
        struct.pack_into("<L", directory, position + 42, offset + len(prefix))
        name_length, extra_length, comment_length = struct.unpack_from("<3H", directory, position + 28)
        position += 46 + name_length + extra_length + comment_length
    record = struct.pack("<4s4H2LH", sig, disk, cd_disk, here, total, cd_size, cd_offset + len(prefix), comment)
    return prefix + package[:cd_offset] + bytes(directory) + record


def _local_entry(name: str, data: bytes) -> bytes:
    """A stored local file entry, as it sits inside a zip before the directory."""
    import zlib

    encoded = name.encode()
    return (
        struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data), len(encoded), 0)
        + encoded
        + data
    )


def test_the_genuine_package_verifies_and_names_its_own_sha256(app, client, frozen):
    report_id, package = frozen
    with app.app_context():
        result = reports.verify_package(package)
    assert result.ok and reports.digest(package) in result.message
    assert reports.digest(package) in client.get(f"/reports/{report_id}").get_data(
        as_text=True
    )  # what readers compare with


def test_a_package_that_is_not_the_frozen_one_byte_for_byte_is_named(app, frozen):
    report_id, package = frozen
    entries = [(info.filename, data) for info, data in _files(package)]
    cases = {
        # a forged page before the archive: browsers and some unzippers read the first, verifiers the zip
        "polyglot": (FORGED + package, "data before the archive"),
        "trailing data": (package + FORGED, "data after the end of the archive"),
        # a forged report.html hidden before the genuine entries, the directory shifted to skip it
        "hidden entry": (_shifted(package, _local_entry("report.html", FORGED)), "data before the archive"),
        # the same files, repacked: every file matches its manifest, the package is not the frozen one
        "repacked": (_zip(entries, zipfile.ZIP_STORED), "is not the frozen package's"),
        "look-alike": (
            _zip(entries + [("report.html\u200b", FORGED)]),
            "'report.html\\u200b': looks like 'report.html'",
        ),
        "case look-alike": (_zip(entries + [("Report.HTML", FORGED)]), "looks like 'report.html'"),
        "path look-alike": (_zip(entries + [("./tables/../report.html", FORGED)]), "not a name a report package holds"),
        "outside the manifest": (
            _zip(entries + [("tables/extra.csv", b"a,b\n")]),
            "'tables/extra.csv': not part of the frozen package",
        ),
    }
    with app.app_context():
        for case, (data, expected) in cases.items():
            result = reports.verify_package(data)
            assert not result.ok, case
            assert any(expected in problem for problem in result.problems), (case, result.problems)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entry_names_are_refused(app, client, frozen):
    """A forged report.html first and the genuine one last verified as matching before #18/#17."""
    report_id, package = frozen
    entries = [(info.filename, data) for info, data in _files(package)]
    forged = _zip([("report.html", FORGED)] + entries)
    response = client.post("/api/v1/reports/verify", data=forged, content_type="application/zip")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "duplicate_entry"
    assert client.post("/api/v1/reports/verify", data=package, content_type="application/zip").get_json()["ok"] is True
