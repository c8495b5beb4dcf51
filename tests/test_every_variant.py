"""Every variant the registry names, at a tiny size: a few training steps on real digits, sampling,
the sample grid, and the exported generator reloaded in a fresh process. A new variant is tested
here by being registered; nothing lists the variants by hand."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import STEPS  # `trained`'s: each variant trained that many steps once a session

from ganlib import registry
from ganlib.sampling import is_conditional

VARIANTS = registry.names()


def unchanged(before, network) -> list[str]:
    return [
        weight.path
        for b, weight in zip(before, network.trainable_weights)
        if np.array_equal(b, np.array(weight))
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_training_steps_give_finite_losses_and_move_the_generator(variant, trained):
    model, history, before = trained(variant)
    assert {"d_loss", "g_loss"} <= set(history), history
    assert all(len(values) == 1 and np.isfinite(values[0]) for values in history.values()), history
    assert int(model.g_optimizer.iterations) == STEPS
    assert not unchanged(before["generator"], model.generator)
    # a critic's output bias has no gradient under WGAN's and the hinge loss: some weight, not every
    assert len(unchanged(before["discriminator"], model.discriminator)) < len(before["discriminator"])
    if "encoder" in before:  # BiGAN's encoder trains with the generator
        assert not unchanged(before["encoder"], model.encoder)


@pytest.mark.parametrize("variant", VARIANTS)
def test_it_generates_finite_images_and_a_grid(variant, trained):
    model, _, _ = trained(variant)
    images = model.generate(12, seed=0)
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert np.isfinite(images).all() and np.abs(images).max() <= 1.0
    np.testing.assert_array_equal(images, model.generate(12, seed=0))
    grid, rows = model.grid_images(0)
    assert grid.shape == (100, 28, 28, 1) and np.isfinite(grid).all()
    assert rows == (list(range(10)) if is_conditional(model) else None)


RELOAD = """
import json, sys
import numpy as np
from ganlib.export import load_generator
from ganlib.sampling import generator_inputs, is_conditional, run_generator

manifest = json.load(open(sys.argv[1]))
outcome = {}
for variant, entry in manifest.items():
    expected = np.load(entry["expected"])
    for kind, path in entry["paths"].items():
        try:
            generator = load_generator(path)
            images = run_generator(generator, generator_inputs(generator, len(expected), entry["seed"]))
            np.testing.assert_allclose(images, expected, atol=1e-5)
            conditional = is_conditional(generator)
            assert conditional == entry["conditional"], f"reloaded as conditional={conditional}"
            outcome[f"{variant} {kind}"] = "same"
        except Exception as error:  # every file is tried; the test names the ones that failed
            outcome[f"{variant} {kind}"] = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
print("OUTCOME " + json.dumps(outcome))
"""


def test_every_exported_generator_reloads_in_a_fresh_process_to_the_same_images(trained, tmp_path):
    from ganlib.export import save_generator

    manifest = {}
    for variant in VARIANTS:
        model, _, _ = trained(variant)
        paths = save_generator(model.generator, tmp_path / variant, variant)
        expected = tmp_path / variant / "expected.npy"
        np.save(expected, model.generate(10, seed=2))  # ten, so a conditional generator draws each digit
        manifest[variant] = {
            "paths": {kind: str(path) for kind, path in paths.items()},
            "expected": str(expected),
            "seed": 2,
            "conditional": is_conditional(model),
        }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # one process for all of them: a TensorFlow start costs more than loading every file
    result = subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    outcome = json.loads(lines[-1].removeprefix("OUTCOME "))
    assert sorted(outcome) == sorted(f"{variant} {kind}" for variant in VARIANTS for kind in ("h5", "keras"))
    failed = {name: message for name, message in outcome.items() if message != "same"}
    assert not failed, "\n".join(
        [
            f"{len(failed)} of {len(outcome)} files differ: {', '.join(failed)}",
            *(f"{name}: {message}" for name, message in failed.items()),
        ]
    )
