"""Score a trained generator: `python -m ganlib.evaluate RUN_DIR_OR_GENERATOR [--n 10000] [--json]`.

RUN_DIR is a folder written by `python -m ganlib.train` (its `*_generator.keras` is scored);
a generator is a `.keras` or `.h5` file. Prints the metrics as a table, or as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ganlib.data import NUM_CLASSES
from ganlib.errors import GanlibError

# Order and wording of the table; keys a result lacks (conditional ones) are left out.
TABLE_ROWS = [
    ("fid", "FID (evaluator features)", "{:.3f}"),
    ("fid_real_floor", "  real-data floor FID", "{:.3f}"),
    ("kid", "KID", "{:.5f}"),
    ("kid_std", "  KID std over subsets", "{:.5f}"),
    ("kid_real_floor", "  real-data floor KID", "{:.5f}"),
    ("classifier_score", f"classifier score (1-{NUM_CLASSES})", "{:.3f}"),
    ("precision", "precision (k=3)", "{:.3f}"),
    ("recall", "recall (k=3)", "{:.3f}"),
    ("density", "density (k=5)", "{:.3f}"),
    ("coverage", "coverage (k=5)", "{:.3f}"),
    ("classes_covered", f"classes covered (of {NUM_CLASSES})", "{}"),
    ("class_kl_uniform", "KL(class histogram || uniform)", "{:.4f}"),
    ("conditional_accuracy", "accuracy on intended labels", "{:.4f}"),
    ("cas", "classification accuracy score", "{:.4f}"),
    ("n", "samples", "{}"),
    ("seed", "seed", "{}"),
    ("eval_seconds", "evaluation time (s)", "{:.2f}"),
    ("evaluator", "evaluator (checksum)", "{}"),
]


def format_table(result: dict) -> str:
    lines = [f"{label:<34} {fmt.format(result[key])}" for key, label, fmt in TABLE_ROWS if key in result]
    histogram = " ".join(f"{share:.3f}" for share in result.get("class_histogram", []))
    if histogram:
        lines.append(f"{'class histogram 0..9':<34} {histogram}")
    return "\n".join(lines)


def find_generator(path: Path) -> Path:
    if path.is_dir():
        candidates = sorted(path.glob("*_generator.keras")) or sorted(path.glob("*_generator.h5"))
        if not candidates:
            raise GanlibError(
                f"no *_generator.keras or *_generator.h5 in {str(path)!r}: "
                "give a run folder of ganlib.train or a generator file"
            )
        return candidates[0]
    if path.is_file() and path.suffix in (".keras", ".h5"):
        return path
    raise GanlibError(f"{str(path)!r} is neither a run folder nor a .keras/.h5 generator file")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlib.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("target", help="a run folder of ganlib.train, or a .keras / .h5 generator")
    parser.add_argument("--n", type=int, default=10_000, help="samples to score")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fixed noise")
    parser.add_argument(
        "--data",
        default=None,
        help="MNIST for the reference statistics (default: $GANLIB_MNIST, then Keras's download)",
    )
    parser.add_argument(
        "--cas",
        action="store_true",
        help="also compute the CAS for conditional generators (trains a classifier)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    # ganlib.metrics.evaluator.EVALUATORS' names, spelled out so a bad one ends before TensorFlow loads
    parser.add_argument(
        "--evaluator",
        default=None,
        choices=("main", "second"),
        help="the classifier whose features score (default: $GANLIB_EVALUATOR, else main)",
    )
    args = parser.parse_args(argv)
    if args.evaluator:
        os.environ["GANLIB_EVALUATOR"] = args.evaluator  # before any evaluator loads in this process
    try:
        generator_path = find_generator(Path(args.target))
        from ganlib.metrics.evaluator import checksum, current

        current()
        from ganlib.export import load_generator
        from ganlib.metrics import evaluate

        result = evaluate(load_generator(generator_path), args.n, args.seed, data=args.data, cas=args.cas)
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result["generator"] = str(generator_path)
    result["evaluator"] = f"{current()} ({checksum()})"
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
