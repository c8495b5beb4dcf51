"""The base every variant stands on: a keras.Model holding a generator and a discriminator.

A variant subclasses `GAN`, builds its two networks, and writes `train_step` as its paper's
algorithm. Everything the variants share lives here: one optimizer per network, Mean trackers for
the losses and for the discriminator's accuracy on real and fake images, sampling latents, and
`generate(n, seed)` with fixed, seeded noise.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ganlib.errors import ConfigError, check_positive

NUM_CLASSES = 10


def generator_inputs(generator, n: int, seed: int, labels=None, category=None, continuous=None):
    """The inputs a generator takes, by input name, fixed by `seed`: what `generate` and the
    evaluation of an exported generator file both feed, so both score the same samples.

    latents ~ N(0, 1) from rng(seed); labels: given, else 0..9 in turn; InfoGAN's category: given,
    else uniform from rng(seed + 1); its continuous codes: given, else U(-1, 1) from rng(seed + 2).
    """
    arrays = []
    for tensor in generator.inputs:
        name, shape = tensor.name, tuple(tensor.shape[1:])
        if name == "labels":
            value = np.arange(n) % NUM_CLASSES if labels is None else labels
            value = np.asarray(value, np.int32)
            if value.shape != (n,) or value.min() < 0 or value.max() >= NUM_CLASSES:
                raise ConfigError(f"labels of shape {value.shape} are not allowed: need {n} digits in 0..9")
        elif name == "category":
            value = np.random.default_rng(seed + 1).integers(0, NUM_CLASSES, n) if category is None else category
            value = np.broadcast_to(np.asarray(value, np.int32), (n,))
        elif name == "continuous":
            value = np.random.default_rng(seed + 2).uniform(-1.0, 1.0, (n,) + shape) if continuous is None else continuous
            value = np.broadcast_to(np.asarray(value, np.float32), (n,) + shape)
        else:  # the noise, whatever the input is called
            value = np.random.default_rng(seed).standard_normal((n,) + shape).astype(np.float32)
        arrays.append(value)
    return arrays if len(arrays) > 1 else arrays[0]


def run_generator(generator, inputs, batch_size: int = 500) -> np.ndarray:
    """The generator over `inputs` in batches, inference mode, as float32 numpy."""
    n = len(inputs[0] if isinstance(inputs, list) else inputs)
    out = []
    for start in range(0, n, batch_size):
        batch = [a[start : start + batch_size] for a in inputs] if isinstance(inputs, list) else inputs[start : start + batch_size]
        out.append(np.asarray(generator(batch, training=False), dtype=np.float32))
    return np.concatenate(out, axis=0)


def scaled(channels: int, width: float) -> int:
    """Channel count under a width multiplier: 1.0 is the paper's network, small ones for smoke runs."""
    return max(1, int(round(channels * width)))


def adam(learning_rate: float, beta1: float, beta2: float) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1, beta_2=beta2)


def gradients(tape, loss, weights, optimizer):
    """d loss / d weights as `optimizer` wants them: under mixed_float16 its LossScaleOptimizer
    wants them multiplied by its current loss scale (it divides it out again when applying). The
    scale enters as the upstream gradient, so the tape need not have recorded the multiplication;
    for any other optimizer it is 1 and this is `tape.gradient(loss, weights)`."""
    return tape.gradient(loss, weights, output_gradients=optimizer.scale_loss(tf.ones_like(loss)))


def compile_with_adam(model: "GAN", config: dict) -> "GAN":
    """One Adam per network with the config's learning rates and shared betas, as most papers do."""
    model.compile(
        g_optimizer=adam(config["g_lr"], config["beta1"], config["beta2"]),
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
    conditional = False
    # Where D's output separates "real" from "fake" for the accuracy trackers. None: the midpoint of
    # the batch's mean real and mean fake score, for critics whose scale means nothing by itself.
    decision_threshold: float | None = 0.0

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, seed: int = 0, **kwargs):
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

    def compile(self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            # float16 gradients underflow without a loss scale; train_steps take their
            # gradients through `gradients`, which applies it.
            g_optimizer, d_optimizer = (
                opt if isinstance(opt, keras.optimizers.LossScaleOptimizer) else keras.optimizers.LossScaleOptimizer(opt)
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
        return [(self.g_optimizer, self.generator_side_weights), (self.d_optimizer, self.discriminator.trainable_weights)]

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
        """n images in [-1, 1], shape (n, 28, 28, 1), from inputs fixed by `seed` (see generator_inputs)."""
        check_positive("n", n, integer=True)
        inputs = generator_inputs(self.generator, n, seed, labels=labels, **codes)
        return run_generator(self.generator, inputs, batch_size)

    def grid_images(self, seed: int = 0):
        """100 images for a 10x10 grid and the grid's row labels (None: rows mean nothing)."""
        return self.generate(100, seed), None

    def extra_grids(self, seed: int = 0) -> dict:
        """Further named grids a variant draws each epoch (InfoGAN's code sweeps): name -> (images, row_labels)."""
        return {}


class ConditionalGAN(GAN):
    """A GAN whose generator takes [latents, labels]: `generate(n, seed, labels)` and per-class grids."""

    conditional = True

    def sample_labels(self, batch_size):
        return keras.random.randint((batch_size,), 0, NUM_CLASSES, seed=self.seed_generator, dtype="int32")

    def grid_images(self, seed: int = 0):
        """Row d shows ten samples of digit d."""
        return self.generate(100, seed, labels=np.repeat(np.arange(NUM_CLASSES), 10)), list(range(NUM_CLASSES))
