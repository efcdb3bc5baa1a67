import hashlib
import io
import os
import urllib.request
from pathlib import Path

import pytest

from experiments.assets import download as dl
from experiments.assets.download import download, sha256_file
from reportgen.assets import AssetError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_sha256_file_matches_hashlib_without_memo(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"abc" * 1000)
    assert sha256_file(path, None) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_sha256_file_is_memoised_by_size_and_mtime(tmp_path, monkeypatch):
    path, memo = tmp_path / "blob.bin", tmp_path / "memo"
    path.write_bytes(b"first")
    assert sha256_file(path, memo) == hashlib.sha256(b"first").hexdigest()
    assert (memo / "sha256.json").is_file()

    def no_hashing(_):
        raise AssertionError("hashed again although the file did not change")

    monkeypatch.setattr(dl, "_hash_file", no_hashing)
    assert sha256_file(path, memo) == hashlib.sha256(b"first").hexdigest()
    monkeypatch.undo()
    path.write_bytes(b"second, longer")
    assert sha256_file(path, memo) == hashlib.sha256(b"second, longer").hexdigest()


def test_download_file_url_atomically_with_hash_check(tmp_path, capsys):
    source = tmp_path / "src" / "weights.pth"
    source.parent.mkdir()
    source.write_bytes(os.urandom(3000))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "sub" / f"weights-{digest[:8]}.pth"
    assert download(source.as_uri(), dest, digest[:8], progress=True) == dest
    assert dest.read_bytes() == source.read_bytes()
    assert _leftovers(dest.parent) == []
    assert "weights-" in capsys.readouterr().err  # a progress line on stderr


def test_download_hash_mismatch_leaves_nothing_and_keeps_old_file(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"new content")
    dest = tmp_path / "dest.bin"
    dest.write_bytes(b"old content")
    with pytest.raises(AssetError) as error:
        download(source.as_uri(), dest, "00000000", progress=False)
    assert "sha256 mismatch" in str(error.value) and str(dest) in str(error.value)
    assert dest.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []


def test_download_failure_is_an_asset_error_with_url_and_destination(tmp_path):
    url = (tmp_path / "absent.zip").as_uri()
    with pytest.raises(AssetError) as error:
        download(url, tmp_path / "out" / "data.zip", None, progress=False, name="some data")
    message = str(error.value)
    assert message.startswith("some data: download failed") and url in message and "data.zip" in message
    assert _leftovers(tmp_path / "out") == []


class _ShortResponse(io.BytesIO):
    headers = {"Content-Length": "100"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_that_stops_short_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _ShortResponse(b"x" * 40))
    with pytest.raises(AssetError, match=r"download incomplete \(40 bytes of 100 bytes\)"):
        download("https://example.invalid/file.bin", tmp_path / "file.bin", None, progress=False)
    assert not (tmp_path / "file.bin").exists() and _leftovers(tmp_path) == []
