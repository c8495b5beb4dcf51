"""The sweep on real Ray, real Optuna and real MNIST: smoke run and export, shared GPUs,
interruption and --resume, a diverging trial, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import interrupt_once_a_trial_is_done

from sweeps.search import presets

REPO = Path(__file__).resolve().parents[1]
TUNE_ALL = REPO / "sweeps" / "tune_all.py"


def sweep(*args, timeout=900, **popen):
    return subprocess.run(
        [sys.executable, str(TUNE_ALL), *args], capture_output=True, text=True, timeout=timeout, **popen
    )


def histories(export_dir: Path, variant: str) -> pd.DataFrame:
    return pd.read_csv(export_dir / "trials" / f"{variant}_history.csv")


def test_smoke_sweep_searches_stops_early_and_exports_the_best(sweep_export):
    export_dir, result = sweep_export
    assert result.returncode == 0, result.stderr[-3000:]
    board = pd.read_csv(export_dir / "leaderboard.csv")
    assert sorted(board["variant"]) == ["dcgan", "gan"]
    assert (board["fid"] > 0).all() and (board["fid"] < 1e6).all() and (board["trials"] == 3).all()
    assert board["stopped_early"].sum() >= 1, "ASHA stopped no trial"
    for variant in ("gan", "dcgan"):
        best = export_dir / "best" / variant
        for name in (
            "config.json",
            "config.yaml",
            "metrics.json",
            "samples.png",
            f"{variant}_generator.keras",
            f"{variant}_generator.h5",
        ):
            assert (best / name).is_file(), name
        record = json.loads((best / "config.json").read_text())
        metrics = json.loads((best / "metrics.json").read_text())
        assert record["seed"] == 0 and metrics["n"] == 2000  # the preset's full re-evaluation size
        row = board.set_index("variant").loc[variant]
        assert row["fid"] == pytest.approx(metrics["fid"]) and row["val_fid"] == pytest.approx(
            metrics["val_fid"]
        )
        assert (
            metrics["fid"] != metrics["val_fid"]
        )  # scored on the test split, chosen on the validation slice
        finalists = record["finalists"]  # the trials that ran the whole budget, evaluated in full
        assert finalists and finalists[0]["fid"] == pytest.approx(metrics["fid"])
        assert all(
            a["val_fid"] <= b["val_fid"] for a, b in zip(finalists, finalists[1:])
        )  # ranked on validation
        history = histories(export_dir, variant)
        # a trial's first report by its own count: Ray's timestamps are whole seconds, and two reports
        # can share one
        first = history.sort_values(["timestamp", "training_iteration"]).groupby("trial_id").first()
        # the paper's defaults are among the trials (OptunaSearch's first point)
        trials = pd.read_csv(export_dir / "trials" / f"{variant}.csv")
        from ganlib import registry

        defaults = registry.get(variant).defaults
        searched = [json.loads(h) for h in trials["hyperparameters"]]
        assert any(all(point[k] == defaults[k] for k in point) for point in searched)
        assert (first["training_images"] == 1600).all()
    sweep_record = json.loads((export_dir / "sweep.json").read_text())
    assert sweep_record["seed"] == 0 and sweep_record["versions"]["ray"].startswith("2.")


def test_each_variants_optuna_study_is_stored_with_params_fids_and_states(sweep_export):
    """optuna.load_study (what optuna-dashboard opens) finds every trial: its hyperparameters, its
    FID at each report as an intermediate value, and its state."""
    import optuna

    export_dir, result = sweep_export
    assert result.returncode == 0, result.stderr[-3000:]
    storage = f"sqlite:///{export_dir / 'optuna.db'}"
    assert json.loads((export_dir / "sweep.json").read_text())["optuna_storage"] == storage
    for variant in ("gan", "dcgan"):
        study = optuna.load_study(study_name=f"{export_dir.name}-{variant}", storage=storage)
        history = histories(export_dir, variant)
        trials = pd.read_csv(export_dir / "trials" / f"{variant}.csv")
        assert len(study.trials) == len(trials) == 3
        searched = sorted(json.dumps(json.loads(h), sort_keys=True) for h in trials["hyperparameters"])
        assert sorted(json.dumps(t.params, sort_keys=True) for t in study.trials) == searched
        reports = sorted(history.groupby("trial_id").size().tolist())
        assert sorted(len(t.intermediate_values) for t in study.trials) == reports
        assert all(
            t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
            for t in study.trials
        )
        fids = sorted(v for t in study.trials for v in t.intermediate_values.values())
        assert fids == pytest.approx(sorted(history["fid"].tolist()))
    assert (export_dir / "importance.csv").is_file()


def test_every_trial_folder_holds_tensorboard_scalars_and_its_grid_at_each_report(sweep_export):
    import tensorflow as tf

    export_dir, result = sweep_export
    assert result.returncode == 0, result.stderr[-3000:]
    trials = sorted((export_dir.parent / f"{export_dir.name}-trials").glob("gan_*"))
    assert len(trials) == 3
    for trial in trials:
        reports = len((trial / "result.json").read_text().splitlines())
        assert list(trial.glob("events.out.tfevents.*")), trial  # Ray's scalars
        grid_steps = [
            event.step
            for path in (trial / "grids").glob("events.out.tfevents.*")
            for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value
            if value.tag == "samples"
        ]
        assert sorted(grid_steps) == list(range(1, reports + 1)), (trial.name, grid_steps, reports)


def test_an_exported_best_generator_rescored_in_a_fresh_process_matches_its_metrics(sweep_export, mnist_path):
    """The file a user takes away scores what the sweep reported: same samples (same seed and n),
    same evaluator, a fresh process; FID within 1e-3 relative (float32 reductions in another order)."""
    export_dir, result = sweep_export
    assert result.returncode == 0, result.stderr[-3000:]
    best = export_dir / "best" / "gan"
    metrics = json.loads((best / "metrics.json").read_text())
    rescored = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganlib.evaluate",
            str(best / "gan_generator.keras"),
            "--n",
            str(metrics["n"]),
            "--seed",
            str(metrics["seed"]),
            "--data",
            str(mnist_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert rescored.returncode == 0, rescored.stderr[-3000:]
    fresh = json.loads(rescored.stdout)
    assert fresh["fid"] == pytest.approx(metrics["fid"], rel=1e-3)
    assert fresh["classes_covered"] == metrics["classes_covered"]


@pytest.mark.integration
def test_a_quarter_gpu_per_trial_runs_four_trials_at_once(tmp_path, mnist_path):
    import ray

    ray.init(address="local", num_cpus=4, num_gpus=1, include_dashboard=False, _node_ip_address="127.0.0.1")
    try:
        from sweeps.tune_all import main

        code = main(
            [
                "--preset",
                "smoke",
                "--name",
                "smoke",
                "--variants",
                "gan",
                "--num-samples",
                "4",
                "--max-rounds",
                "1",  # one report each: the overlap of their spans is what is asked
                "--max-concurrent",
                "4",
                "--gpus-per-trial",
                "0.25",
                "--cpus-per-trial",
                "1",
                "--gpus-declared-only",
                "--data",
                str(mnist_path),
                "--storage",
                str(tmp_path / "store"),
                "--no-report",
            ]
        )
        assert code == 0
    finally:
        ray.shutdown()
    history = histories(tmp_path / "store" / "smoke", "gan")
    # Ray's own records: each report's wall-clock timestamp and the trial's running time at it
    spans = history.groupby("trial_id").agg(
        end=("timestamp", "max"),
        start=("timestamp", lambda t: t.min()),
        first_iter=("time_this_iter_s", "first"),
    )
    spans["start"] = spans["start"] - spans["first_iter"]
    assert len(spans) == 4
    assert spans["start"].max() < spans["end"].min(), spans
    assert set(history["gpu_ids"].astype(str)) == {"0"}  # each trial held a share of GPU 0


@pytest.mark.integration
def test_a_trial_that_asked_for_a_gpu_and_finds_none_fails_naming_its_node(tmp_path, mnist_path):
    """Ray declares a GPU (--num-gpus 1) that TensorFlow cannot see: the trial must not train on the
    CPU unnoticed. It fails with one clear line, Ray's retries fail the same way, and the sweep
    ends without a finalist for the variant (exit 1)."""
    result = sweep(
        "--preset",
        "smoke",
        "--name",
        "smoke",
        "--variants",
        "gan",
        "--num-samples",
        "1",
        "--num-gpus",
        "1",
        "--gpus-per-trial",
        "0.5",
        "--data",
        str(mnist_path),
        "--storage",
        str(tmp_path / "store"),
        "--no-report",
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    failed = [line for line in result.stdout.splitlines() if "failed for good" in line]
    assert len(failed) == 1, result.stdout[-3000:]
    assert "GPUMissing: this trial asked for 0.5 GPU and Ray gave it GPU 0 on node 127.0.0.1 (" in failed[0]
    assert "TensorFlow there sees no GPU" in failed[0] and "--gpus-declared-only" in failed[0]
    assert (
        "Trial task failed" not in result.stdout + result.stderr
    )  # Ray's traceback stays in the trial's error.txt
    assert (
        result.stdout.count("Ray retries it from its last checkpoint") == 2
    )  # max_failures: the same on every try
    board = pd.read_csv(tmp_path / "store" / "smoke" / "leaderboard.csv")
    assert board.loc[0, "failed"] == 1 and board.loc[0, "reason"] == "no finalist: of 1 trials, 1 failed"


@pytest.mark.integration
def test_interrupted_sweep_resumes_without_redoing_finished_trials(tmp_path, mnist_path):
    args = [
        "--preset",
        "smoke",
        "--name",
        "smoke",
        "--variants",
        "gan,dcgan",
        "--num-samples",
        "2",
        "--max-rounds",
        "3",  # two rungs (1,600 and 3,200 images) for the rung records to rebuild
        "--data",
        str(mnist_path),
        "--storage",
        str(tmp_path / "store"),
        "--no-report",
    ]
    experiment = tmp_path / "store" / "smoke-trials"
    process = subprocess.Popen(
        [sys.executable, str(TUNE_ALL), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    output = interrupt_once_a_trial_is_done(process, max_rounds=3)
    assert process.returncode != 0, output[-3000:]
    assert "run the same command with --resume" in output, output[-3000:]

    finished = {trial for trial, status in saved_statuses(experiment).items() if status == "TERMINATED"}
    before = {
        path: path.read_text()
        for path in experiment.glob("*_*/result.json")
        if path.parent.name.split("_")[-1] in finished
    }
    assert before and len(finished) < 4, (finished, output[-3000:])
    resumed = sweep(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # trials that had not started have no results to load, and that is no warning's matter
    assert "Could not fetch metrics" not in resumed.stdout + resumed.stderr
    assert {path: path.read_text() for path in before} == before, "a finished trial was run again"
    board = pd.read_csv(tmp_path / "store" / "smoke" / "leaderboard.csv")
    assert sorted(board["variant"]) == ["dcgan", "gan"] and (board["trials"] == 2).all()
    assert set(saved_statuses(experiment).values()) == {"TERMINATED"}
    # each variant's rung records after the resume hold every report of its trials, those made
    # before the interruption included, as a scheduler that had never stopped would have them
    for variant in ("gan", "dcgan"):
        assert rungs_in(experiment, variant) == rungs_from_histories(experiment, variant, max_rounds=3)


def saved_statuses(experiment: Path) -> dict[str, str]:
    """Each trial's status in the experiment state Ray saved (what --resume restores)."""
    state = json.loads(sorted(experiment.glob("experiment_state-*.json"))[-1].read_text())
    return {json.loads(entry[0])["trial_id"]: json.loads(entry[0])["status"] for entry in state["trial_data"]}


def rungs_in(experiment: Path, variant: str) -> dict:
    return json.loads((experiment / f"rungs-{variant}.json").read_text())["rungs"]


def rungs_from_histories(experiment: Path, variant: str, max_rounds: int) -> dict:
    from sweeps.search.finalist import Rungs

    preset = presets.get("smoke")
    rungs = Rungs(
        preset.grace_rounds * preset.eval_every_images,
        max_rounds * preset.eval_every_images,
        preset.reduction_factor,
    )
    for path in sorted(experiment.glob(f"{variant}_*/result.json")):
        trial_id = path.parent.name.removeprefix(f"{variant}_")
        for line in path.read_text().splitlines():
            result = json.loads(line)
            if not result.get("diverged"):
                rungs.record(trial_id, result["training_images"], -result["fid"])
    return {f"{m:g}": {t: -r for t, r in rewards.items()} for m, rewards in rungs.recorded.items()}


@pytest.mark.integration
def test_the_same_command_runs_again_as_a_new_sweep_and_latest_points_at_it(tmp_path, mnist_path):
    """The README's main command twice: two sweeps with their own timestamped names, `latest`
    pointing at the second; --resume without --name continues the newest."""
    args = [
        "--preset",
        "smoke",
        "--variants",
        "gan",
        "--num-samples",
        "1",
        "--max-rounds",
        "1",
        "--grace-rounds",
        "1",
        "--data",
        str(mnist_path),
        "--storage",
        str(tmp_path / "store"),
        "--no-report",
    ]
    first = sweep(*args)
    second = sweep(*args)  # within the same second or not: a name of its own
    assert first.returncode == 0 and second.returncode == 0, (first.stderr[-2000:], second.stderr[-2000:])
    names = sorted(
        path.name for path in (tmp_path / "store").glob("smoke-2*") if not path.name.endswith("-trials")
    )
    assert len(names) == 2, names
    assert (tmp_path / "store" / "latest").resolve().name == names[-1]
    assert (tmp_path / "store" / "latest" / "leaderboard.csv").is_file()
    resumed = sweep(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # the newest had finished: its search is not run (or exported) again
    assert f"sweep '{names[-1]}'" in resumed.stdout and "the search finished before" in resumed.stdout


@pytest.mark.integration
def test_diverging_trials_end_with_the_sentinel_and_the_sweep_goes_on(tmp_path, mnist_path):
    result = sweep(
        "--preset",
        "smoke",
        "--name",
        "smoke",
        "--variants",
        "wgan_gp,gan",
        "--num-samples",
        "2",
        "--set",
        "g_lr=1.0",
        "--set",
        "d_lr=1.0",
        "--data",
        str(mnist_path),
        "--storage",
        str(tmp_path / "store"),
        "--no-report",
    )
    # every wgan_gp trial diverged: no finalist, said in its line, its row and the exit status
    assert result.returncode == 1, result.stderr[-3000:]
    assert "[wgan_gp] no finalist: of 2 trials, 2 diverged" in result.stdout
    assert "no finalist for wgan_gp" in result.stderr.splitlines()[-1]
    export_dir = tmp_path / "store" / "smoke"
    history = histories(export_dir, "wgan_gp")
    last = history.sort_values("timestamp").groupby("trial_id").last()
    assert last["diverged"].all() and (last["fid"] == 1e6).all()
    board = pd.read_csv(export_dir / "leaderboard.csv").set_index("variant")
    assert board.loc["wgan_gp", "diverged"] == 2 and pd.isna(board.loc["wgan_gp", "fid"])
    assert board.loc["wgan_gp", "reason"] == "no finalist: of 2 trials, 2 diverged"
    assert board.loc["gan", "fid"] > 0 and pd.isna(
        board.loc["gan", "reason"]
    )  # the sweep went on to the next variant


def test_rung_flags_set_the_budget_and_ashas_rungs_and_leave_the_rest_of_the_preset(tmp_path, mnist_path):
    from sweeps.search.plan import plan
    from sweeps.tune_all import build_parser

    args = [
        "--max-rounds",
        "27",
        "--grace-rounds",
        "3",
        "--reduction-factor",
        "3",
        "--data",
        str(mnist_path),
        "--storage",
        str(tmp_path),
    ]
    setup = plan(build_parser().parse_args(args))
    smoke = presets.get("smoke")
    chosen = setup.preset
    assert (chosen.max_rounds, chosen.grace_rounds, chosen.reduction_factor) == (27, 3, 3)
    assert setup.run["max_rounds"] == 27
    assert chosen.max_training_images == 27 * smoke.eval_every_images
    assert (chosen.eval_every_images, chosen.eval_samples, chosen.fixed) == (
        smoke.eval_every_images,
        smoke.eval_samples,
        smoke.fixed,
    )
    unchanged = plan(
        build_parser().parse_args(["--data", str(mnist_path), "--storage", str(tmp_path)])
    ).preset
    assert unchanged == smoke


@pytest.mark.parametrize(
    "args, words",
    [
        (["--variants", "gan,bestgan"], ["unknown variant 'bestgan'"]),
        (["--preset", "huge"], ["unknown preset 'huge'", "smoke"]),
        (["--final-seeds", "2", "--final-rounds", "2", "--ladder", "2,1"], ["--ladder 2,1 is not allowed"]),
        (["--final-seeds", "2", "--ladder", "ten"], ["--ladder 'ten' is not allowed", "10,30"]),
        (["--gpus-per-trial", "1.5"], ["--gpus-per-trial=1.5", "(0.0, 1.0]"]),
        (["--gpus-per-trial", "-0.25"], ["--gpus-per-trial=-0.25"]),
        (["--gpus-per-trial", "0.5"], ["this Ray has 0 GPU"]),
        (["--data", "/nowhere/mnist.npz"], ["/nowhere/mnist.npz", "not found"]),
        (["--set", "n_critic=3", "--variants", "gan"], ["no selected variant", "n_critic"]),
        (["--set", "g_lr=-1", "--variants", "gan"], ["g_lr=-1 is not allowed: g_lr must lie in (0.0, 1.0]"]),
        (["--grace-rounds", "5"], ["--grace-rounds=5", "[1, 4]"]),
        (["--reduction-factor", "1"], ["--reduction-factor=1", "[2, 100]"]),
        (["--scheduler", "hyperband"], ["--scheduler 'hyperband'", "ray_asha, pbt, pb2, none"]),
        (["--optuna-storage", "optuna.db"], ["--optuna-storage 'optuna.db'", "sqlite:///"]),
        (["--resume"], ["--resume without --name", "give --name"]),
    ],
)
def test_bad_input_is_refused_before_any_trial(tmp_path, mnist_path, args, words):
    base = ["--data", str(mnist_path), "--storage", str(tmp_path / "store"), "--num-cpus", "1"]
    result = sweep(*base, *args, timeout=300, env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    for word in words:
        assert word in errors[0]
    assert not list((tmp_path / "store").glob("*-gan")) and not (tmp_path / "store" / "latest").exists()


def test_a_sweep_started_in_the_same_second_as_another_gets_a_name_of_its_own(tmp_path, monkeypatch):
    from sweeps.search import plan

    monkeypatch.setattr(plan.time, "strftime", lambda _: "2026-12-04_15-00-00")
    assert plan.new_name("smoke", tmp_path, str(tmp_path)) == "smoke-2026-12-04_15-00-00"
    (tmp_path / "smoke-2026-12-04_15-00-00-trials").mkdir()  # the first sweep's trials
    assert plan.new_name("smoke", tmp_path, str(tmp_path)) == "smoke-2026-12-04_15-00-00-2"
    (tmp_path / "smoke-2026-12-04_15-00-00-2").mkdir()
    assert plan.new_name("smoke", tmp_path, "s3://bucket/x") == "smoke-2026-12-04_15-00-00-3"


def test_a_finished_search_in_a_moved_storage_folder_is_the_same_sweep_and_one_kept_apart_is_not(tmp_path):
    from sweeps.tune_all import is_this_experiment

    moved = tmp_path / "bigger-disk" / "ray_results"
    # the export inside the storage folder, which moved with it: known by the experiment's name
    assert is_this_experiment("/home/me/ray_results/x-trials", str(moved), "x-trials", moved / "x")
    assert not is_this_experiment("/home/me/ray_results/y-trials", str(moved), "x-trials", moved / "x")
    # an export kept apart (--export-dir) names another storage's sweep x: not this one
    apart = tmp_path / "exports" / "x"
    assert not is_this_experiment("/home/me/ray_results/x-trials", str(moved), "x-trials", apart)
    assert is_this_experiment(f"{moved}/x-trials", str(moved), "x-trials", apart)
    # object storage (exports kept on the head): the bucket, prefix and endpoint must all match
    from sweeps.search.plan import storage_join

    bucket = "s3://bucket/sweeps?endpoint_override=127.0.0.1:9000&scheme=http"
    other = "s3://bucket/other?endpoint_override=127.0.0.1:9000&scheme=http"
    head = tmp_path / "results" / "x"
    assert is_this_experiment(storage_join(bucket, "x-trials"), bucket, "x-trials", head)
    assert not is_this_experiment(storage_join(other, "x-trials"), bucket, "x-trials", head)
