"""The study's export as it is published (docs/results/cpu in this repository): the report, its
tables and figures, each variant's best configuration and samples and the family winners'
generators, without what only the machine that ran the study needs (the per-run weights, the
Optuna database, the control runs' folders) or what the published report already shows (each final
run's own sample grid: the report's figures/seeds_<variant>.png draw every one; report.html: the
same report with the figures embedded again).

    python -m sweeps.study.publish EXPORT_DIR DEST [--replace]

Run it after `sweeps/report.py EXPORT_DIR`. DEST must not exist, or with --replace be an earlier
publication (it holds publication.json, which publishing writes); the new one is copied beside it
and swapped in whole, so no file of an older study stays behind and a failed copy loses nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

MARKER = "publication.json"
# relative to the export; matched on the path's parts so a folder's whole tree is left
LEFT_FOLDERS = (("precision_control",), ("final", "runs"))
LEFT_PREFIXES = ("optuna.db",)  # with SQLite's journal and WAL files beside it
# report.md renders where the publication is read; the html would commit every figure twice
LEFT_NAMES = ("report.html",)
LEFT_SUFFIXES = (".keras", ".h5")
# weights that are published: each family winner's median-seed generator, for anyone to score again
KEPT_WEIGHTS = (("final", "generators"),)


def published(relative: Path) -> bool:
    parts = relative.parts
    starts = lambda prefixes: any(parts[: len(p)] == p for p in prefixes)  # noqa: E731
    if (
        starts(LEFT_FOLDERS)
        or relative.name.startswith(LEFT_PREFIXES)
        or relative.name in (MARKER, *LEFT_NAMES)
    ):
        return False
    return relative.suffix not in LEFT_SUFFIXES or starts(KEPT_WEIGHTS)


def files(export_dir: Path) -> list[Path]:
    """The export's files that are published, relative to it, in order."""
    found = (path.relative_to(export_dir) for path in export_dir.rglob("*") if path.is_file())
    return sorted(path for path in found if published(path))


def publish(export_dir: Path, dest: Path, replace: bool = False) -> list[Path]:
    """Copies files(export_dir) into dest and returns them; see the module's doc for dest."""
    source, target = export_dir.resolve(), dest.absolute()
    if dest.is_symlink():
        raise ValueError(f"DEST {dest} is a symbolic link; name the folder itself")
    if target == source or source in target.parents or target.resolve() in source.parents:
        raise ValueError(f"DEST {dest} and EXPORT_DIR {export_dir} overlap; choose a folder outside it")
    if dest.exists():
        if not replace:
            raise ValueError(f"{dest} exists; pass --replace to replace an earlier publication")
        if not (dest / MARKER).is_file():
            raise ValueError(f"{dest} holds no {MARKER}: not an earlier publication, left as it is")
    chosen = files(export_dir)
    staging = target.with_name(f".{target.name}.publishing")
    shutil.rmtree(staging, ignore_errors=True)  # an interrupted publication's leftovers
    staging.mkdir(parents=True)
    for relative in chosen:
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(export_dir / relative, staging / relative)
    from ganlib.export import code_commit

    record = {
        "from": str(source),
        "files": len(chosen),
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # the publishing code's; each run's own is in the export's versions where it was recorded
        "commit": code_commit(),
    }
    (staging / MARKER).write_text(json.dumps(record, indent=1))
    if dest.exists():
        old = target.with_name(f".{target.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.study.publish", description=__doc__.splitlines()[0]
    )
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--replace", action="store_true", help="replace an earlier publication at DEST")
    args = parser.parse_args(argv)
    if not (args.export_dir / "report.md").is_file():
        report = f"python sweeps/report.py {args.export_dir}"
        print(f"error: {args.export_dir} has no report.md; run `{report}` first", file=sys.stderr)
        return 2
    try:
        chosen = publish(args.export_dir, args.dest, args.replace)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = sum((args.dest / path).stat().st_size for path in chosen)
    print(f"published {len(chosen)} files, {size / 2**20:.1f} MiB, to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
