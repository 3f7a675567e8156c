"""Archives someone else made (report packages): zip bombs are refused before they are decompressed,
with the API's error shape, and what is read is read in chunks against a running cap."""

import io
import json
import zipfile

import pytest

from agora.services.reporting import archives, reports


def _zip(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _manifest(padding: int = 0) -> bytes:
    return json.dumps({"schema": "agora.package/1", "report_id": 1, "files": {}}).encode() + b" " * padding


def _post(client, data):
    return client.post("/api/v1/reports/verify", data=data, content_type="application/zip")


def test_a_bzip2_entry_is_refused_before_it_is_decompressed(app, client):
    """The red team's bomb: a bzip2 entry (here 20 MB of spaces in a few hundred bytes)."""
    bomb = _zip({"manifest.json": _manifest(20 * 1024 * 1024)}, method=zipfile.ZIP_BZIP2)
    assert len(bomb) < 2000
    response = _post(client, bomb)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "compression_method"
    assert "compression method" in response.get_json()["error"]["message"]


def test_an_absurd_compression_ratio_is_refused_as_a_bomb(app, client):
    bomb = _zip({"manifest.json": _manifest(30 * 1024 * 1024)})  # deflate, about 1000 to 1
    response = _post(client, bomb)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "archive_too_large"


def test_too_many_entries_and_too_much_declared_are_refused(app, client):
    many = _zip(
        {
            "manifest.json": _manifest(),
            **{f"tables/{n}.csv": b"a,b\n" for n in range(archives.DEFAULT_LIMITS.max_entries)},
        }
    )
    assert _post(client, many).status_code == 413
    with pytest.raises(archives.ArchiveTooLarge):
        archives.SafeZip(_zip({"a": b"x" * 2000, "b": b"y" * 2000}), archives.Limits(max_total_bytes=3000))


def test_the_form_page_refuses_a_bomb_too(app, client):
    from tests.conftest import csrf_from

    token = csrf_from(client, "/reports/verify")
    bomb = _zip({"manifest.json": _manifest(20 * 1024 * 1024)}, method=zipfile.ZIP_BZIP2)
    response = client.post(
        "/reports/verify",
        data={"csrf_token": token, "package": (io.BytesIO(bomb), "package.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422


def test_reads_stop_at_the_running_cap_whatever_the_directory_says():
    archive = archives.SafeZip(_zip({"a": b"x" * 500_000}))
    with pytest.raises(archives.ArchiveTooLarge):
        archive.read("a", max_bytes=100_000)
    # A directory that under-declares an entry: the stream is cut at the declared size and refused.
    data = bytearray(_zip({"a": b"x" * 500_000}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")  # uncompressed size in the central directory
    with pytest.raises(archives.ArchiveRefused):
        archives.SafeZip(bytes(data)).read("a")


def test_a_genuine_package_still_reads_and_the_work_runs_off_the_event_loop(app, monkeypatch):
    calls = []
    real = reports.verification.off_loop
    monkeypatch.setattr(reports.verification, "off_loop", lambda fn, *args: calls.append(fn) or real(fn, *args))
    package = _zip({"manifest.json": _manifest(), "report.json": b"{}"})
    with app.app_context():
        verdict = reports.verify_package(package)
    assert not verdict.ok and "never frozen" in verdict.message  # read fine; report 1 does not exist
    assert calls == [reports.read_package]
    with app.app_context():
        assert not reports.verify_package(b"not a zip").ok
