"""--mlflow on the sweep (Ray's MLflowLoggerCallback) and on ganlib.train, against a real local
MLflow file store: the runs are there with their parameters and metrics."""

from __future__ import annotations

import pandas as pd
import pytest

# MLflow's own file store, which MLflow 3 keeps behind this opt-in (it recommends sqlite:/// now;
# both work with --mlflow): given to the shared sweep's runs by conftest (SHARED_SWEEP_ENV: the sweep
# and test_record's resumes of its copies) and, by this fixture, to these tests' reading of the store


@pytest.fixture(autouse=True)
def file_store_allowed(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


def runs(uri: str, experiment: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def test_a_training_run_is_logged_with_its_config_and_each_epochs_metrics(tmp_path, mnist_path, capsys):
    import mlflow

    from ganlib.train import main

    uri = (tmp_path / "mlruns").as_uri()
    # ganlib.train's main in this process: the command is what is tested, not a TensorFlow start
    code = main(
        [
            "--variant",
            "gan",
            "--epochs",
            "2",
            "--per-class",
            "20",
            "--set",
            "width=0.25",
            "--batch-size",
            "20",
            "--eval-samples",
            "500",
            "--data",
            str(mnist_path),
            "--out",
            str(tmp_path / "run"),
            "--mlflow",
            uri,
        ]
    )
    assert code == 0, capsys.readouterr().err[-2000:]
    found = runs(uri, "ganlib.train")
    assert len(found) == 1
    row = found.iloc[0]
    assert (
        row["params.variant"] == "gan" and float(row["params.width"]) == 0.25 and row["status"] == "FINISHED"
    )
    assert row["metrics.fid"] > 0 and "metrics.d_loss" in row
    history = mlflow.tracking.MlflowClient(uri).get_metric_history(row["run_id"], "g_loss")
    assert [m.step for m in history] == [1, 2]


def test_a_sweep_logs_every_search_and_final_stage_trial_to_mlflow(shared_sweep):
    store, uri, _, result = shared_sweep
    assert result.returncode == 0, result.stderr[-3000:]
    found = runs(uri, "s")  # the sweep's experiment, a run per trial
    assert len(found) == 6 and sorted(found["params.run/variant"]) == ["dcgan"] * 3 + ["gan"] * 3
    assert found["metrics.fid"].notna().all() and (found["metrics.training_images"] > 0).all()
    assert {"params.g_lr", "params.d_lr"} <= set(found.columns)
    # the final stage's runs, the published figures, in one experiment NAME-final (the stage runs
    # in parts, a Ray experiment each, the ladder's continued runs among them): a run per trial
    final = runs(uri, "s-final")
    trials = list(store.glob("s-final-*/*/params.json"))
    assert (
        len(final)
        == len(trials)
        > len(pd.read_csv(store / "s" / "final" / "runs.csv").query("budget_images == 1600"))
    )
    assert set(final["params.final/run/variant"]) == {"gan", "dcgan"} and final["metrics.fid"].notna().all()
