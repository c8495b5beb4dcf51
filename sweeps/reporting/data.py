"""What a sweep's report reads and the tables it derives: the export folder's leaderboard, trials,
histories and sweep record; the papers' defaults against the best trial found."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ganlib import registry


def load(results: Path) -> dict:
    board = pd.read_csv(results / "leaderboard.csv")
    trials, histories = {}, {}
    for variant in board["variant"]:
        trials[variant] = pd.read_csv(results / "trials" / f"{variant}.csv")
        path = results / "trials" / f"{variant}_history.csv"
        histories[variant] = pd.read_csv(path) if path.exists() else pd.DataFrame()
    sweep = json.loads((results / "sweep.json").read_text()) if (results / "sweep.json").exists() else {}
    return {"board": board, "trials": trials, "histories": histories, "sweep": sweep}


def defaults_against_best(board: pd.DataFrame, trials: dict) -> pd.DataFrame:
    """The papers' defaults (each sweep's first trial) against the best trial found."""
    rows = []
    for variant, table in trials.items():
        defaults = registry.get(variant).defaults
        searched = registry.get(variant).search_space
        is_default = table["hyperparameters"].map(
            lambda h, defaults=defaults, searched=searched: all(
                defaults.get(k) == v for k, v in json.loads(h).items() if k in searched
            )
        )
        default_rows = table[is_default]
        best = board.set_index("variant").loc[variant] if variant in set(board["variant"]) else None
        best_trial = (
            table[table["trial_id"] == best["trial_id"]]
            if best is not None and "trial_id" in best
            else table.iloc[:0]
        )
        rows.append(
            {
                "variant": variant,
                "defaults_sweep_fid": (
                    float(default_rows["sweep_fid"].min()) if len(default_rows) else float("nan")
                ),
                "best_sweep_fid": float(best_trial["sweep_fid"].min()) if len(best_trial) else float("nan"),
                "best_final_fid": float(best["fid"]) if best is not None else float("nan"),
                "best_hyperparameters": best_trial["hyperparameters"].iloc[0] if len(best_trial) else "",
            }
        )
    return pd.DataFrame(rows)
