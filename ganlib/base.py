"""The base every variant stands on: a keras.Model holding a generator and a discriminator.

A variant subclasses `GAN`, builds its two networks, and writes `train_step` as its paper's
algorithm. Everything the variants share lives here: one optimizer per network, the gradient step
(`descend`, loss scaling inside), Mean trackers for the losses and for the discriminator's accuracy
on real and fake images, sampling latents, and `generate(n, seed)` with fixed, seeded noise.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

from ganlib.data import NUM_CLASSES
from ganlib.errors import ConfigError, check_positive
from ganlib.sampling import generator_inputs, run_generator


def ema_momentum(config: dict) -> float | None:
    """The per-step decay of the generator's weight average from its half-life in generated images
    (Karras et al. 2019 average over a 10,000-image half-life; StudioGAN keeps such an average for
    every GAN), or None for no average. A generator step makes `batch_size` images."""
    half_life = config.get("ema_half_life", 0)
    return 0.5 ** (config["batch_size"] / half_life) if half_life else None


def with_average(optimizer_class, ema: float | None, **settings) -> keras.optimizers.Optimizer:
    """An optimizer that also keeps the moving average of what it updates (Keras's `use_ema`)."""
    if ema is None:
        return optimizer_class(**settings)
    return optimizer_class(use_ema=True, ema_momentum=ema, **settings)


def adam(
    learning_rate: float, beta1: float, beta2: float, ema: float | None = None
) -> keras.optimizers.Optimizer:
    return with_average(keras.optimizers.Adam, ema, learning_rate=learning_rate, beta_1=beta1, beta_2=beta2)


def compile_with_adam(model: GAN, config: dict) -> GAN:
    """One Adam per network with the config's learning rates and shared betas, as most papers do."""
    model.compile(
        g_optimizer=adam(config["g_lr"], config["beta1"], config["beta2"], ema_momentum(config)),
        d_optimizer=adam(config["d_lr"], config["beta1"], config["beta2"]),
    )
    return model


class GAN(keras.Model):
    """Generator + discriminator, trained by the subclass's `train_step`.

    `real_batches_per_step` tells the input pipeline how many fresh real batches one train_step
    consumes (WGAN's critic takes n_critic of them), so one "batch" of the dataset is that many
    minibatches laid end to end.
    """

    real_batches_per_step = 1
    # Where D's output separates "real" from "fake" for the accuracy trackers. None: the midpoint of
    # the batch's mean real and mean fake score, for critics whose scale means nothing by itself.
    decision_threshold: float | None = 0.0

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, seed: int = 0, **kwargs
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        # Training noise comes from a seeded generator: the seed fixes the noise a run draws (the
        # whole run too once op determinism is on; ganlib/run.py says what is repeatable).
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_real_tracker = keras.metrics.Mean(name="d_acc_real")
        self.d_acc_fake_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.extra_trackers: dict[str, keras.metrics.Mean] = {}

    def compile(
        self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs
    ):
        super().compile(**kwargs)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            # float16 gradients underflow without a loss scale; train_steps take their
            # gradient steps through `descend`, which applies it.
            g_optimizer, d_optimizer = (
                opt
                if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt)
                for opt in (g_optimizer, d_optimizer)
            )
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Built here rather than inside the first traced step: an unbuilt LossScaleOptimizer's
        # scale_loss would bake its initial scale into the graph as a constant.
        for optimizer, weights in self.optimizer_targets():
            optimizer.build(weights)

    def optimizer_targets(self):
        """(optimizer, the weights it updates) for both networks."""
        return [
            (self.g_optimizer, self.generator_side_weights),
            (self.d_optimizer, self.discriminator.trainable_weights),
        ]

    def add_tracker(self, name: str) -> keras.metrics.Mean:
        """A further per-epoch mean a variant logs (the penalty, the mutual information, ...)."""
        tracker = keras.metrics.Mean(name=name)
        self.extra_trackers[name] = tracker
        return tracker

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_acc_real_tracker,
            self.d_acc_fake_tracker,
            *self.extra_trackers.values(),
        ]

    def call(self, latents, training: bool = False):
        return self.generator(latents, training=training)

    @property
    def generator_side_weights(self):
        """What the generator's optimizer updates (BiGAN adds its encoder)."""
        return self.generator.trainable_weights

    @property
    def has_average(self) -> bool:
        optimizer = getattr(self.g_optimizer, "inner_optimizer", self.g_optimizer)
        return bool(optimizer.use_ema)

    @contextlib.contextmanager
    def averaged_generator(self):
        """The generator with its weights' moving average in place of its weights, for as long as
        the block lasts (to score or export it); the trained weights come back after."""
        if not self.has_average:
            raise ConfigError("this model keeps no average of its generator: set ema_half_life")
        weights = self.generator_side_weights
        trained = [np.array(weight) for weight in weights]
        self.g_optimizer.finalize_variable_values(weights)
        try:
            yield self.generator
        finally:
            for weight, value in zip(weights, trained):
                weight.assign(value)

    def descend(self, *updates):
        """Gradient steps, one per update (tape, loss, weights, optimizer): `optimizer` moves
        `weights` down d loss / d weights, the gradient taken on `tape`.

        Every gradient is taken before any step is applied, so updates passed together are
        simultaneous (each gradient is the one at the weights the forward pass ran with); a
        train_step that updates D and then G through the updated D calls this twice.

        Under mixed_float16 the optimizer is a LossScaleOptimizer, which wants the gradients
        multiplied by its current loss scale (it divides it out again when applying). The scale
        enters as the upstream gradient, so the tape need not have recorded the multiplication;
        for any other optimizer it is 1 and the gradient is `tape.gradient(loss, weights)`.
        """
        grads = [
            tape.gradient(loss, weights, output_gradients=optimizer.scale_loss(tf.ones_like(loss)))
            for tape, loss, weights, optimizer in updates
        ]
        for (_, _, weights, optimizer), weight_grads in zip(updates, grads):
            optimizer.apply_gradients(zip(weight_grads, weights))

    def sample_latents(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def split_real_batches(self, images):
        """The dataset's batch as `real_batches_per_step` equal minibatches (see the class doc)."""
        return tf.split(images, self.real_batches_per_step, axis=0)

    def track(self, d_loss, g_loss, real_outputs, fake_outputs, **extra):
        """Update the trackers and return the logs Keras prints and callbacks see."""
        real_outputs = tf.cast(tf.reshape(real_outputs, [-1]), tf.float32)
        fake_outputs = tf.cast(tf.reshape(fake_outputs, [-1]), tf.float32)
        if self.decision_threshold is None:
            threshold = 0.5 * (tf.reduce_mean(real_outputs) + tf.reduce_mean(fake_outputs))
        else:
            threshold = tf.constant(self.decision_threshold, tf.float32)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_real_tracker.update_state(tf.cast(real_outputs > threshold, tf.float32))
        self.d_acc_fake_tracker.update_state(tf.cast(fake_outputs <= threshold, tf.float32))
        for name, value in extra.items():
            self.extra_trackers[name].update_state(value)
        return {metric.name: metric.result() for metric in self.metrics}

    # ---- sampling outside training -------------------------------------------------------------
    def latents_for(self, n: int, seed: int) -> np.ndarray:
        """Fixed noise: the same (n, seed) gives the same latents on every machine."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def generate(self, n: int, seed: int = 0, labels=None, batch_size: int = 500, **codes) -> np.ndarray:
        """n images in [-1, 1], shape (n, 28, 28, 1), from inputs fixed by `seed` (see
        ganlib.sampling.generator_inputs)."""
        check_positive("n", n, integer=True)
        inputs = generator_inputs(self.generator, n, seed, labels=labels, **codes)
        return run_generator(self.generator, inputs, batch_size)

    def grid_images(self, seed: int = 0):
        """100 images for a 10x10 grid and the grid's row labels (None: rows mean nothing)."""
        return self.generate(100, seed), None

    def extra_grids(self, seed: int = 0) -> dict:
        """Further named grids a variant draws each epoch (InfoGAN's code sweeps): name -> (images,
        row_labels)."""
        return {}


class ConditionalGAN(GAN):
    """A GAN whose generator takes [latents, labels]: `generate(n, seed, labels)` and per-class grids."""

    def sample_labels(self, batch_size):
        return keras.random.randint((batch_size,), 0, NUM_CLASSES, seed=self.seed_generator, dtype="int32")

    def grid_images(self, seed: int = 0):
        """Row d shows ten samples of digit d."""
        return self.generate(100, seed, labels=np.repeat(np.arange(NUM_CLASSES), 10)), list(
            range(NUM_CLASSES)
        )
