"""One trial: build the variant from the trial's config, train, report FID every K training images
with a checkpoint, and pick up from `tune.get_checkpoint()` when Ray restarts the trial.

The config holds the searched hyperparameters at the top level and everything the sweep fixes
under "run" (variant, data, seed, budget, evaluation size, resources).
"""

from __future__ import annotations

import ray
from ray import tune

# What a diverged trial reports as its FID: larger than any real FID, finite so that neither
# ASHA's rung comparisons nor Optuna's TPE break on NaN or inf.
SENTINEL_FID = 1.0e6


def hyperparameters(config: dict) -> dict:
    return {key: value for key, value in config.items() if key != "run"}


def train_gan(config: dict) -> None:
    run = config["run"]
    from sweeps.resources import configure_tensorflow

    placement = configure_tensorflow(run["cpus_per_trial"], run["gpus_per_trial"], run.get("gpu_memory_mb"))
    # Ray's own record of the GPU (or GPU share) this trial holds: on a CPU machine, declared only.
    placement["gpu_ids"] = ",".join(str(i) for i in ray.get_gpu_ids())

    import keras

    from ganlib import registry
    from ganlib.data import balanced_subset, load_digits, make_dataset
    from ganlib.export import load_training_state
    from sweeps.tune_report import TuneReport

    variant, seed = run["variant"], run["seed"]
    overrides = {**run["fixed"], **hyperparameters(config)}
    from ganlib.precision import set_precision

    set_precision(run.get("precision", "float32"))
    keras.utils.set_random_seed(seed)
    model = registry.build(variant, overrides, seed)
    start_round, train_seconds = 0, 0.0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as directory:
            state = load_training_state(model, directory)
        start_round, train_seconds = state["round"], state["train_seconds"]

    digits = load_digits(run["data"], "train")
    if run.get("per_class"):
        digits = balanced_subset(digits, run["per_class"], seed)
    images_per_step = model.real_batches_per_step * overrides.get("batch_size", registry.get(variant).defaults["batch_size"])
    steps_per_round = max(1, run["eval_every_images"] // images_per_step)
    # A resumed trial reshuffles with another seed, so it does not replay the images it has seen.
    dataset = make_dataset(digits, images_per_step, seed=seed + start_round, repeat=True)
    parameters = {"g_params": model.generator.count_params(), "d_params": model.discriminator.count_params()}
    reporter = TuneReport(run, seed, steps_per_round * images_per_step, train_seconds, placement, parameters)
    model.fit(
        dataset,
        epochs=run["max_rounds"],
        initial_epoch=start_round,
        steps_per_epoch=steps_per_round,
        callbacks=[reporter],
        verbose=0,
    )
