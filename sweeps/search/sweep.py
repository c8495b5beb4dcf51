"""The search: every variant's trials in one Ray Tune experiment, each variant with its own
searcher (seeded TPE, or a population for PBT) and early stopping, sharing the cluster's slots.
`python sweeps/tune_all.py` runs it, then exports each variant's best (export_best.py)."""

from __future__ import annotations

import os
from pathlib import Path

from ganlib.errors import ConfigError
from sweeps.search.experiment import console, restored
from sweeps.search.plan import Setup, is_uri, storage_join, trial_resources, variant_run
from sweeps.search.schedulers import POPULATION, make_scheduler


def sweep(setup: Setup, resume: bool, verbose: bool = False):
    """Every variant's trials in one Ray Tune experiment (sweeps/search/per_variant.py): the cluster's
    slots are shared across variants, each with its own TPE and early stopping."""
    from ray import tune

    from sweeps.search.per_variant import SearchPerVariant
    from sweeps.search.searcher import make_searcher
    from sweeps.search.trainable import GANTrainable

    preset, variants = setup.preset, setup.variants
    run = setup.run
    trainable = tune.with_resources(GANTrainable, trial_resources(run))
    path = storage_join(setup.storage, setup.experiment)
    # With a searcher of its own, Ray keeps one trial waiting for resources at a time (read when
    # the Tuner is made): every variant's concurrent trials may wait at once instead, which is
    # what fills a cluster's slots quickly and what the autoscaler sizes the cluster by
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(len(variants) * setup.max_concurrent)
    if resume and (tuner := restored(path, trainable)) is not None:
        return tuner.fit()
    if not is_uri(path) and Path(path).exists():
        raise ConfigError(
            f"sweep {setup.name!r} already exists in {setup.storage}: add --resume to continue "
            "it, or give another --name"
        )

    from ray.tune.search import ConcurrencyLimiter

    from sweeps.search.population import PopulationStart
    from sweeps.search.searcher import variant_seed

    runs = {variant: variant_run(setup, variant) for variant in variants}
    pbt = setup.scheduler in POPULATION
    searchers = {
        # a population exists all at once (PBT pauses and resumes its members to share the slots)
        variant: PopulationStart(
            variant, runs[variant], setup.num_samples, variant_seed(run["seed"], variant)
        )
        if pbt
        else ConcurrencyLimiter(
            make_searcher(variant, runs[variant], preset, f"{setup.name}-{variant}", setup.optuna_storage),
            max_concurrent=setup.max_concurrent,
        )
        for variant in variants
    }
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=SearchPerVariant(searchers, runs, setup.num_samples),
            metric="fid",  # as the searchers and schedulers have it: Ray's own "current best trial" shows it
            mode="min",
            scheduler=make_scheduler(setup.scheduler, preset, variants, runs, setup.mutate, run["seed"]),
            num_samples=len(variants) * setup.num_samples,
            # A finished trial's worker takes the next trial (GANTrainable.reset_config): no new
            # process, TensorFlow import, evaluator load or reference statistics per trial.
            reuse_actors=True,
            trial_dirname_creator=lambda trial: f"{trial.config['run']['variant']}_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=setup.experiment,
            storage_path=setup.storage,
            failure_config=tune.FailureConfig(max_failures=2),
            # what trials write in their own folders (the grids for TensorBoard) goes to the storage too
            sync_config=tune.SyncConfig(sync_artifacts=True),
            checkpoint_config=tune.CheckpointConfig(
                # PBT copies a member's last checkpoint into another whenever that one next runs,
                # which may be reports later: none is deleted under it
                num_to_keep=None if pbt else 2,
                checkpoint_score_attribute="fid",
                checkpoint_score_order="min",
                checkpoint_frequency=1,
                checkpoint_at_end=True,
            ),
            verbose=1 if verbose else 0,
            callbacks=console(setup, variants, setup.num_samples, preset.max_rounds, setup.name, verbose),
        ),
    )
    return tuner.fit()
