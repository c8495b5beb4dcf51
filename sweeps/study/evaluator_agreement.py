"""Whether a sweep's ranking of variants is an artefact of the evaluator: a generator of each
variant scored by both shipped evaluators (ganlib.metrics.evaluator: another architecture,
another seed) on the same samples, and the rank correlation of the variants' FIDs under the two.

    python -m sweeps.study.evaluator_agreement EXPORT_DIR [--n 10000] [--data mnist.npz]

The generators are those the answer rests on: where the final stage kept them, each variant's
median seed of its best configuration at the longest budget it was trained to (weights or their
average, as the stage chose at that budget); else each variant's exported best (EXPORT_DIR/best).
Writes EXPORT_DIR/evaluator_agreement.csv (FID, KID and classes covered per variant under each)
and evaluator_agreement.json (Spearman's rho with its permutation p-value, Kendall's tau with
scipy's, which generators were scored). Each evaluator scores in a process of its own (the
evaluator is chosen per process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

EVALUATORS = ("main", "second")
FINAL = "the final stage's median seed of each variant's best configuration at its longest budget"
BEST = "each variant's exported best"


def final_generators(export_dir: Path) -> dict[str, Path]:
    """Per variant, the generator file of its best configuration's median seed (the lower middle,
    as the winners' generators are chosen) at the longest budget it reached, the one that budget's
    tables score; a variant whose file the stage did not keep is left out."""
    from ganlib.export import generator_paths
    from sweeps.study import analysis

    final = export_dir / "final"
    if not (final / "runs.csv").is_file():
        return {}
    choice = analysis.chosen_generators(final)
    table = pd.read_csv(final / "runs.csv")
    best = table[table["arm"] == "best"]
    if best.empty:
        return {}
    best = analysis.as_chosen(best, choice)
    best = best.assign(fid=analysis.fid_scores(best)).dropna(subset=["fid"])  # a diverged run worst
    found = {}
    for variant, mine in best.groupby("variant"):
        budget = int(mine["budget_images"].max())
        runs = mine[mine["budget_images"] == budget].sort_values(["fid", "seed"], kind="stable")
        seed = int(runs.loc[analysis.lower_median(runs.index), "seed"])
        generator = choice if isinstance(choice, str) else choice.get(budget, "weights")
        folder = final / "runs" / f"{variant}_best_s{seed}_{budget}"
        path = generator_paths(folder, variant, "_ema" if generator == "ema" else "")["h5"]
        if path.is_file():
            found[variant] = path
    return found


def generators(export_dir: Path) -> tuple[str, dict[str, Path]]:
    """What is scored (FINAL or BEST) and each variant's generator file."""
    final = final_generators(export_dir)
    if final:
        return FINAL, final
    exported = sorted((export_dir / "best").glob("*/*_generator.keras"))
    return BEST, {path.parent.name: path for path in exported}


def score_all(export_dir: Path, n: int, data: str | None, seed: int) -> list[dict]:
    """Every generator of `generators` under this process's evaluator."""
    from ganlib.export import load_generator
    from ganlib.metrics import evaluator
    from ganlib.metrics.scoring import evaluate

    rows = []
    for variant, path in generators(export_dir)[1].items():
        scores = evaluate(load_generator(path), n=n, seed=seed, data=data, cas=False)
        rows.append(
            {
                "variant": variant,
                "evaluator": evaluator.current(),
                "evaluator_checksum": evaluator.checksum(),
                **{k: scores[k] for k in ("fid", "kid", "classes_covered", "precision", "recall")},
            }
        )
    return rows


def spearman_p(x, y, resamples: int = 100_000, seed: int = 0) -> float:
    """Two-sided permutation p-value of Spearman's rho: exact when every pairing fits in
    `resamples`, else sampled. scipy's own p rests on a t approximation that gives 0 at rho = 1."""
    import numpy as np
    from scipy import stats

    y_ranks = stats.rankdata(y)

    def rho(x_, axis=-1):  # Spearman's rho is Pearson's r of the ranks; this form takes a batch of pairings
        return stats.pearsonr(stats.rankdata(x_, axis=axis), y_ranks, axis=axis).statistic

    found = stats.permutation_test(
        (np.asarray(x, float),),
        rho,
        permutation_type="pairings",
        vectorized=True,
        n_resamples=resamples,
        batch=10_000,
        rng=np.random.default_rng(seed),
    )
    return float(found.pvalue)


def agreement(table: pd.DataFrame) -> dict:
    from scipy import stats

    wide = table.pivot(index="variant", columns="evaluator", values="fid").dropna()
    rho = stats.spearmanr(wide["main"], wide["second"])
    tau = stats.kendalltau(wide["main"], wide["second"])
    return {
        "variants": len(wide),
        "spearman_rho": float(rho.statistic),
        "spearman_p": spearman_p(wide["main"], wide["second"]),
        "kendall_tau": float(tau.statistic),
        "kendall_p": float(tau.pvalue),
        "same_winner": bool(wide["main"].idxmin() == wide["second"].idxmin()),
        "ranks": {e: wide[e].rank().astype(int).to_dict() for e in EVALUATORS},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.study.evaluator_agreement", description=__doc__.splitlines()[0]
    )
    parser.add_argument("export_dir")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    parser.add_argument("--score-with", default=None, help=argparse.SUPPRESS)  # one evaluator's process
    args = parser.parse_args(argv)
    export_dir = Path(args.export_dir)
    if args.score_with:
        print(json.dumps(score_all(export_dir, args.n, args.data, args.seed)))
        return 0
    scored, files = generators(export_dir)
    if not files:
        print(
            f"error: no generators in {export_dir / 'best'} or {export_dir / 'final'}: "
            "give a sweep's export folder",
            file=sys.stderr,
        )
        return 2
    rows = []
    for name in EVALUATORS:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "sweeps.study.evaluator_agreement",
                str(export_dir),
                "--n",
                str(args.n),
                "--seed",
                str(args.seed),
                "--score-with",
                name,
                *(["--data", args.data] if args.data else []),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "GANLIB_EVALUATOR": name},
        )
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            return done.returncode
        rows += json.loads(done.stdout.strip().splitlines()[-1])
    table = pd.DataFrame(rows)
    table.to_csv(export_dir / "evaluator_agreement.csv", index=False)
    found = {
        **agreement(table),
        "generators": scored,
        "files": {variant: str(path.relative_to(export_dir)) for variant, path in files.items()},
    }
    (export_dir / "evaluator_agreement.json").write_text(json.dumps(found, indent=2))
    fids = table.pivot(index="variant", columns="evaluator", values="fid")
    print(fids.sort_values("main").to_string(float_format="%.1f"))
    print(
        f"Spearman rho {found['spearman_rho']:.3f} (p {found['spearman_p']:.2g}), "
        f"Kendall tau {found['kendall_tau']:.3f} (p {found['kendall_p']:.2g}) over {found['variants']} "
        f"variants; same winner: {found['same_winner']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
