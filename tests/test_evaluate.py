"""evaluate() and `python -m ganlib.evaluate` end to end, on a tiny trained GAN."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ganlib import registry
from ganlib.export import load_generator, save_generator
from ganlib.metrics import evaluate
from ganlib.metrics.reference import cache_dir

KEYS = {
    "fid",
    "kid",
    "kid_std",
    "classifier_score",
    "precision",
    "recall",
    "density",
    "coverage",
    "classes_covered",
    "class_histogram",
    "class_kl_uniform",
    "fid_real_floor",
    "kid_real_floor",
    "n",
    "seed",
    "eval_seconds",
    "reference",
}


@pytest.fixture(scope="module")
def tiny_model():
    return registry.build("gan", {"width": 0.25}, seed=0)


def test_evaluate_returns_every_metric_and_the_floor(tiny_model, mnist_path):
    result = evaluate(tiny_model, 2000, seed=1, data=mnist_path)
    assert KEYS <= set(result)
    assert result["n"] == 2000 and result["seed"] == 1
    # an untrained generator is far from real digits; the floor is what real digits score
    assert result["fid"] > 20 * result["fid_real_floor"] > 0
    assert 0 < result["kid_real_floor"] < result["kid"]
    assert len(result["class_histogram"]) == 10 and sum(result["class_histogram"]) == pytest.approx(
        1.0, abs=1e-3
    )
    assert list(cache_dir().glob("reference-*.npz")), "reference statistics are cached on disk"
    again = evaluate(tiny_model, 2000, seed=1, data=mnist_path)
    assert again["fid"] == pytest.approx(result["fid"], rel=1e-6)
    other = evaluate(tiny_model, 2000, seed=2, data=mnist_path)
    assert other["fid"] != result["fid"]


def test_exported_generator_scores_like_the_model(tiny_model, tmp_path, mnist_path):
    paths = save_generator(tiny_model.generator, tmp_path, "gan")
    from_file = evaluate(load_generator(paths["keras"]), 1000, seed=3, data=mnist_path)
    from_model = evaluate(tiny_model, 1000, seed=3, data=mnist_path)
    assert from_file["fid"] == pytest.approx(from_model["fid"], rel=1e-4)


def test_cli_prints_a_table_and_json(tiny_model, tmp_path, mnist_path, capsys):
    from ganlib.evaluate import main

    save_generator(tiny_model.generator, tmp_path, "gan")
    arguments = [str(tmp_path), "--n", "1000", "--data", str(mnist_path)]
    table = subprocess.run(
        [sys.executable, "-m", "ganlib.evaluate", *arguments], capture_output=True, text=True, timeout=300
    )
    assert table.returncode == 0, table.stderr[-2000:]
    assert "FID (evaluator features)" in table.stdout and "real-data floor FID" in table.stdout
    # the other two through main in this process: a TensorFlow start each would cost more than they do
    capsys.readouterr()
    assert main([*arguments, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 1000 and np.isfinite(result["fid"])
    assert main([str(tmp_path / "nothing")]) == 2
    stderr = capsys.readouterr().err
    assert stderr.strip().startswith("error:") and len(stderr.strip().splitlines()) == 1
