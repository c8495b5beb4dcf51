"""One training run of one variant, set up in one place.

`Run` resolves the config (the registry's defaults with the overrides laid over them, checked
once), loads the digits (before TensorFlow builds anything, so bad data fails fast), sets the
precision and the seeds, builds the model, and knows how many real images a step takes. It trains
with the one divergence rule (ganlib.divergence), evaluates, and saves and restores its whole
training state. `python -m ganlib.train`, the sweeps' trainable and the benchmarks all start here.

What is repeatable from the seed: the initial weights, the data order and the training noise. On
the CPU, TensorFlow's kernels are not bitwise deterministic unless op determinism is on
(`tf.config.experimental.enable_op_determinism`), so two runs of the same seed drift apart in the
last bits and, over many steps, further; with it on, a run and one restored from its saved state
take the same steps.
"""

from __future__ import annotations

from ganlib import registry


class Run:
    def __init__(
        self,
        variant: str,
        overrides: dict | None = None,
        *,
        seed: int = 0,
        data=None,
        per_class: int | None = None,
        precision: str = "float32",
        hold_out_validation: bool = False,
    ):
        """`hold_out_validation`: train on the training split less its validation slice, as sweeps
        do (they rank trials against that slice); otherwise on the whole training split."""
        self.variant, self.seed, self.data, self.per_class, self.precision = (
            variant,
            seed,
            data,
            per_class,
            precision,
        )
        self.config = registry.resolve_config(variant, overrides, seed)

        from ganlib import data as mnist

        digits = mnist.load_digits(data, "train")
        if hold_out_validation:
            digits, _ = mnist.hold_out_validation(digits)
        if per_class is not None:
            digits = mnist.balanced_subset(digits, per_class, seed)
        self.digits = digits
        self._examples = None  # the digits as tensors, made once for all of this run's datasets

        import keras

        from ganlib.precision import set_precision

        set_precision(precision)
        keras.utils.set_random_seed(seed)
        self.model = registry.get(variant).build_function()(self.config)
        # one dataset element feeds one train_step: WGAN's critic takes n_critic real batches
        self.images_per_step = self.config["batch_size"] * self.model.real_batches_per_step

    @property
    def parameters(self) -> dict:
        return {
            "g_params": self.model.generator.count_params(),
            "d_params": self.model.discriminator.count_params(),
        }

    def dataset(self, *, seed: int | None = None, repeat: bool = False):
        """Batches of `images_per_step` real digits, shuffled with `seed` (the run's by default)."""
        from ganlib.data import make_dataset, make_examples

        self._examples = self._examples if self._examples is not None else make_examples(self.digits)
        return make_dataset(
            self.digits,
            self.images_per_step,
            seed=self.seed if seed is None else seed,
            repeat=repeat,
            examples=self._examples,
        )

    def train(
        self,
        dataset,
        *,
        epochs: int = 1,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        callbacks=(),
        verbose=0,
        first_step: int = 0,
    ):
        """`fit` on `dataset`, stopped at the first step that diverges; returns (Keras History,
        where it diverged or None). What a diverged run saved before is left as it was."""
        from ganlib.callbacks import StopOnDivergence

        stop = StopOnDivergence(first_step)  # steps numbered from `first_step`, for the run's own count
        history = self.model.fit(
            dataset,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=[stop, *callbacks],
            verbose=verbose,
            shuffle=False,
        )
        self.steps_done = stop.step - first_step
        return history, stop.diverged

    def evaluate(
        self,
        n: int,
        *,
        split: str = "test",
        every_metric: bool = True,
        seed: int | None = None,
        average: bool = False,
        cas: bool | None = None,
    ) -> dict:
        """Scores of `n` samples from noise fixed by the seed: every metric (ganlib.metrics.evaluate,
        `cas` as it takes it), or FID and class coverage only, against the test split or the
        validation slice; with `average`, of the generator's weight average (config ema_half_life)
        instead of its weights."""
        import contextlib

        from ganlib.metrics import evaluate, quick_scores

        seed = self.seed if seed is None else seed
        if every_metric and split != "test":
            from ganlib.errors import ConfigError

            raise ConfigError(
                f"split={split!r} is not allowed with every metric: "
                "the full evaluation is against the test split"
            )
        with self.model.averaged_generator() if average else contextlib.nullcontext():
            if every_metric:
                return evaluate(self.model, n, seed, data=self.data, cas=cas)
            return quick_scores(self.model, n, seed, data=self.data, split=split)

    def save(self, directory, **extra):
        """Every weight, optimizer slot and the noise generator's state, and `extra` beside them."""
        from ganlib.export import save_training_state

        return save_training_state(self.model, directory, **extra)

    def restore(self, directory) -> dict:
        """Load what `save` wrote into this run's freshly built model; returns the `extra` saved."""
        from ganlib.export import load_training_state

        return load_training_state(self.model, directory)
