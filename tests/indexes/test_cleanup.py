"""After a commit the writer removes its own stale files, and nothing else."""

from __future__ import annotations

from pathlib import Path

from indexes import Record, Writer, compact


def _commit(folder: Path, number: int) -> None:
    with Writer(folder, "SLTD") as writer:
        writer.upsert([Record(b"id-%d" % number, (b"K%d" % number,), number)])
        writer.commit()


def test_stale_engine_files_go_and_an_operators_files_stay(tmp_path: Path) -> None:
    folder = tmp_path / "SLTD"
    _commit(folder, 1)
    _commit(folder, 2)
    (folder / "NOTES.txt").write_text("called the NCB at 03:10")
    (folder / "seg-000001.seg.bak").write_bytes(b"operator's copy")
    (folder / ".seg-000009.seg.tmp-4242").write_bytes(b"left by a crashed writer")
    compact(folder, "SLTD")
    names = sorted(path.name for path in folder.iterdir())
    assert names == ["LOCK", "MANIFEST", "NOTES.txt", "seg-000001.seg.bak", "seg-000003.seg"]
