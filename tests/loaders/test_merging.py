"""Every load adds a segment; past MAX_SEGMENTS the loader merges the small ones."""

from __future__ import annotations

from pathlib import Path

from indexes import open_snapshot
from indexes.writer import MAX_SEGMENTS
from loaders.load import load
from loaders.readers import Upload
from screening import open_data


def _upload(folder: Path, number: int) -> Upload:
    path = folder / f"upload-{number}.csv"
    rows = [f"N{number:03d}{row:04d},FRA,P,lost" for row in range(50)]
    path.write_text("number,country,type,status\n" + "\n".join(rows) + "\n")
    return Upload.of(str(path))


def test_many_small_loads_stay_few_segments_and_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    summaries = []
    for number in range(MAX_SEGMENTS + 4):
        summaries.append(load(data, "SLTD", "FRA", [_upload(tmp_path, number)]).summary())
    snapshot = open_snapshot(data / "SLTD", "SLTD")
    assert len(snapshot.parts) <= MAX_SEGMENTS
    assert snapshot.count() == 50 * (MAX_SEGMENTS + 4)
    assert any("merged the recent uploads" in summary for summary in summaries)
    screened = open_data(data).screen(
        [{"db": "SLTD", "number": f"N{n:03d}0007", "country": "FRA"} for n in range(12)]
    )
    assert all(result["hit"] for result in screened)


def test_a_later_upload_still_replaces_a_record_after_merging(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for number in range(MAX_SEGMENTS + 1):
        load(data, "SLTD", "FRA", [_upload(tmp_path, number)])
    replacement = tmp_path / "replace.csv"
    replacement.write_text("number,country,type,status\nN0000007,FRA,P,stolen\n")
    load(data, "SLTD", "FRA", [Upload.of(str(replacement))])
    [result] = open_data(data).screen([{"db": "SLTD", "number": "N0000007", "country": "FRA"}])
    assert [match["record"]["status"] for match in result["matches"]] == ["stolen"]
