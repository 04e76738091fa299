"""Data versions: the digest a run records for a file or a folder of files."""

from __future__ import annotations

from riskdraw.tracking import file_digest


def test_a_folder_version_changes_with_any_file_and_only_then(tmp_path):
    folder = tmp_path / "profile.parquet"
    folder.mkdir()
    (folder / "as_of=2024-01-01.parquet").write_bytes(b"one")
    (folder / "as_of=2025-01-01.parquet").write_bytes(b"two")
    first = file_digest(folder)
    assert file_digest(folder) == first and len(first) == 64
    (folder / "as_of=2025-01-01.parquet").write_bytes(b"TWO")
    assert file_digest(folder) != first
    (folder / "as_of=2025-01-01.parquet").write_bytes(b"two")
    assert file_digest(folder) == first
    (folder / "as_of=2025-01-01.parquet").rename(folder / "as_of=2026-01-01.parquet")
    assert file_digest(folder) != first  # names count too
    single = tmp_path / "x.parquet"
    single.write_bytes(b"one")
    assert file_digest(single) != file_digest(folder)
