"""Whether a sweep finished, read from the experiment state Ray saved for --resume."""

from __future__ import annotations

import json
from pathlib import Path

from sweeps.search.plan import is_uri


class Interrupted(Exception):
    """The sweep was stopped (Ctrl-C) with trials unfinished; Ray saved its state for --resume."""


def unfinished_trials(experiment_path: str) -> int:
    """Trials that Ray's saved experiment state (what --resume restores) does not mark as done.

    After Ctrl-C, Ray stops the running trials and the in-memory ResultGrid calls them
    TERMINATED; only the saved state tells them apart from trials that really finished.
    """
    import pyarrow.fs

    filesystem, path = pyarrow.fs.FileSystem.from_uri(experiment_path) if is_uri(experiment_path) else (pyarrow.fs.LocalFileSystem(), experiment_path)
    states = sorted(
        info.path for info in filesystem.get_file_info(pyarrow.fs.FileSelector(path))
        if Path(info.path).name.startswith("experiment_state-") and info.path.endswith(".json")
    )
    if not states:
        return 0
    with filesystem.open_input_stream(states[-1]) as handle:
        state = json.loads(handle.read())
    statuses = [json.loads(entry[0]).get("status") for entry in state.get("trial_data", [])]
    return sum(status not in ("TERMINATED", "ERROR") for status in statuses)


def check_finished(grid, experiment_path: str, planned: int) -> None:
    """Raise Interrupted unless all `planned` trials of the experiment finished."""
    unfinished = unfinished_trials(experiment_path)
    if unfinished or len(grid) < planned:
        raise Interrupted(
            f"sweep interrupted ({len(grid) - unfinished} of {planned} trials finished); "
            f"run the same command with --resume to continue"
        )
