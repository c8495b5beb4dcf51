"""A sweep's exports kept in object storage beside its trials, so they outlive the cluster.

With `--storage s3://bucket/prefix` the head writes its exports (leaderboard, best/, trials/,
sweep.json, optuna.db, final/, the report) to a local folder, then copies that folder to
`s3://bucket/prefix/NAME` and points `s3://bucket/prefix/latest` (a one-line object holding NAME) at
it, the bucket's counterpart of the local `latest` link. `python sweeps/report.py
s3://bucket/prefix/latest` reads it back. Any URI pyarrow opens works (s3://, gs://, with
`?endpoint_override=...` for an S3-compatible store).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

LATEST = "latest"


def _open(uri: str):
    from pyarrow import fs

    return fs.FileSystem.from_uri(uri)


def _join(uri: str, *parts: str) -> str:
    base, _, query = uri.partition("?")
    joined = "/".join([base.rstrip("/"), *parts])
    return f"{joined}?{query}" if query else joined


def publish(export_dir: Path, storage: str, name: str) -> str:
    """Copy the export folder to STORAGE/NAME (the sweep's name, whatever the local folder is
    called: --export-dir may name it otherwise) and point STORAGE/latest at it; returns that URI."""
    target = copy_to(Path(export_dir), _join(storage, name))
    latest_filesystem, latest_path = _open(_join(storage, LATEST))
    with latest_filesystem.open_output_stream(latest_path) as out:
        out.write(name.encode())
    return target


def copy_to(local: Path, uri: str) -> str:
    """Copy a local folder to a folder in storage (files there are replaced)."""
    from pyarrow import fs

    filesystem, path = _open(uri)
    filesystem.create_dir(path, recursive=True)
    fs.copy_files(str(local), path, source_filesystem=fs.LocalFileSystem(), destination_filesystem=filesystem)
    return uri


def latest_name(storage: str) -> str | None:
    """NAME from STORAGE/latest, None if there is none."""
    from pyarrow import fs

    filesystem, path = _open(_join(storage, LATEST))
    if filesystem.get_file_info(path).type != fs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as source:
        return source.read().decode().strip()


def resolve(uri: str) -> str:
    """An export folder's URI: `.../latest` (the pointer object) becomes the folder it names."""
    base, _, query = uri.partition("?")
    parent, _, leaf = base.rstrip("/").rpartition("/")
    if leaf == LATEST:
        name = latest_name(f"{parent}?{query}" if query else parent)
        if name:
            return _join(f"{parent}?{query}" if query else parent, name)
    return uri


def fetch(uri: str, local: Path) -> Path:
    """Copy an export folder from storage into `local` (made if missing); returns `local`."""
    from pyarrow import fs

    filesystem, path = _open(uri)
    if filesystem.get_file_info(path).type != fs.FileType.Directory:
        raise FileNotFoundError(uri)
    local = Path(local)
    local.mkdir(parents=True, exist_ok=True)
    fs.copy_files(path, str(local), source_filesystem=filesystem, destination_filesystem=fs.LocalFileSystem())
    return local


def folder_name(uri: str) -> str:
    return uri.partition("?")[0].rstrip("/").rpartition("/")[2]


def read_json(uri: str):
    """A JSON document in storage (a local path or a URI), None if there is none."""
    from pyarrow import fs

    filesystem, path = _open(uri)
    if filesystem.get_file_info(path).type != fs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as source:
        return json.loads(source.read().decode())


def write_json(uri: str, document) -> None:
    """A JSON document into storage, whole: written under a temporary name, then moved over the
    old one, so an interrupted write leaves the old document."""
    filesystem, path = _open(uri)
    parent, _, leaf = path.rpartition("/")
    filesystem.create_dir(parent, recursive=True)
    partial = f"{parent}/.partial-{time.time_ns()}-{leaf}"
    with filesystem.open_output_stream(partial) as out:
        out.write(json.dumps(document, indent=1).encode())
    filesystem.move(partial, path)
