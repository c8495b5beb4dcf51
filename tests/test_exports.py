"""sweeps/cloud/exports.py on a file:// URI (the same pyarrow calls as a bucket; tests/test_bucket.py
runs them against an S3 server)."""

from __future__ import annotations

from sweeps.cloud import exports


def test_exports_go_under_the_sweeps_name_and_latest_reads_them_back(tmp_path):
    head = tmp_path / "second-head"  # --export-dir names the local folder otherwise than the sweep
    (head / "best" / "gan").mkdir(parents=True)
    (head / "leaderboard.csv").write_text("variant,fid\ngan,1.0\n")
    (head / "best" / "gan" / "config.json").write_text("{}")
    storage = f"file://{tmp_path / 'store'}"
    assert exports.publish(head, storage, "s3sweep") == f"{storage}/s3sweep"
    assert exports.latest_name(storage) == "s3sweep"
    assert exports.resolve(f"{storage}/latest") == f"{storage}/s3sweep"
    laptop = exports.fetch(exports.resolve(f"{storage}/latest"), tmp_path / "laptop")
    assert (laptop / "leaderboard.csv").read_text() == "variant,fid\ngan,1.0\n"
    assert (laptop / "best" / "gan" / "config.json").is_file()
    assert exports.latest_name(f"file://{tmp_path / 'nothing'}") is None
