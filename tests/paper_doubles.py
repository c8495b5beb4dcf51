"""Test doubles for checking a variant's train_step against its paper's loss.

`KnownDiscriminator` stands in for a variant's discriminator or critic: its outputs are a fixed,
hand-differentiable function of the image (and of the code or label it is shown with), and every
call records what it saw, its outputs and its weight `w` at that moment. `Recorder` wraps the
network that draws the fakes and records its inputs (labels, codes) and outputs. Both record only
in eager mode, so a test runs `model.train_step` directly, not through `fit`.

The score of an image x with N pixels is

    s(x) = w * mean(x) + Q * (mean(x^2) - C),     grad_x s = (w + 2 Q x) / N

w is trainable (the D update moves it, WGAN clips it); the gradient depends on x, so a penalty
taken at the wrong point comes out wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from ganlib.data import NUM_CLASSES

# MNIST's background is -1: real digits score 0.8 to 1.2, on both sides of SN-GAN's hinge at 1;
# untrained fakes (near 0) score about -0.7
W0, Q, C = -1.0, 1.0, 0.7
PIXELS = 28 * 28


def score_gradient(images: np.ndarray, w: float) -> np.ndarray:
    """grad_x s(x) per sample, by hand."""
    return (w + 2.0 * Q * np.asarray(images, np.float64)) / PIXELS


def _numpy(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [np.array(v) for v in value]
    return np.array(value)


@dataclass
class Call:
    images: np.ndarray
    extra: np.ndarray | None  # BiGAN's code, CGAN's label
    w: float
    outputs: list


class KnownDiscriminator(keras.Model):
    """kind: "score" (one output), "labelled" (D(x, y), CGAN), "pair" (D(x, z), BiGAN),
    "classes" (source and 10 class logits, ACGAN), "info" (source, category logits and the two
    continuous means, InfoGAN). Heads read the features (mean(x), mean(x^2), 1)."""

    def __init__(self, kind: str, code_dim: int | None = None, name: str = "discriminator"):
        super().__init__(name=name)
        self.kind = kind
        rng = np.random.default_rng(7)
        self.w = self._weight("w", np.array(W0))
        if kind == "pair":
            self.v = self._weight("v", rng.normal(0.0, 0.3, code_dim))
        if kind == "labelled":
            self.u = self._weight("u", np.linspace(-0.5, 0.5, NUM_CLASSES))
        if kind in ("classes", "info"):
            self.class_kernel = self._weight("class_kernel", rng.normal(0.0, 1.0, (3, NUM_CLASSES)))
        if kind == "info":
            self.mean_kernel = self._weight("mean_kernel", rng.normal(0.0, 1.0, (3, 2)))
        self.built = True
        self.calls: list[Call] = []

    def _weight(self, name, value):
        weight = self.add_weight(shape=np.shape(value), initializer="zeros", name=name)
        weight.assign(np.asarray(value, np.float32))
        return weight

    @classmethod
    def like(cls, discriminator: keras.Model) -> KnownDiscriminator:
        """A double with the same inputs and outputs as `discriminator`."""
        outputs = len(discriminator.outputs)
        if len(discriminator.inputs) == 2:
            second = discriminator.inputs[1]
            if "int" in str(second.dtype):
                return cls("labelled")
            return cls("pair", code_dim=int(second.shape[-1]))
        return cls({1: "score", 2: "classes", 3: "info"}[outputs])

    def call(self, inputs, training=None):
        images, extra = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        x = tf.cast(images, tf.float32)
        mean, mean_square = tf.reduce_mean(x, axis=[1, 2, 3]), tf.reduce_mean(tf.square(x), axis=[1, 2, 3])
        score = self.w * mean + Q * (mean_square - C)
        if self.kind == "pair":
            score += tf.linalg.matvec(tf.cast(extra, tf.float32), self.v)
        if self.kind == "labelled":
            score += tf.gather(self.u, tf.cast(extra, tf.int32))
        outputs = [score[:, None]]
        features = tf.stack([mean, mean_square, tf.ones_like(mean)], axis=1)
        if self.kind in ("classes", "info"):
            outputs.append(features @ self.class_kernel)
        if self.kind == "info":
            outputs.append(features @ self.mean_kernel)
        if tf.executing_eagerly():
            self.calls.append(Call(_numpy(x), _numpy(extra), float(self.w.numpy()), _numpy(outputs)))
        return outputs[0] if len(outputs) == 1 else outputs


class Recorder(keras.Model):
    """`inner` unchanged (its weights are the ones trained), each call's inputs and output kept."""

    def __init__(self, inner: keras.Model):
        super().__init__(name=f"{inner.name}_recorded")
        self.inner = inner
        self.built = True
        self.calls: list[tuple] = []

    def call(self, inputs, training=None):
        output = self.inner(inputs, training=training)
        if tf.executing_eagerly():
            self.calls.append((_numpy(inputs), np.array(output)))
        return output


@dataclass
class Chunk:
    """One batch-sized block of one discriminator call: what it showed D and what D said."""

    kind: str  # "real", "fake" (a recorded generator output) or "other" (WGAN-GP's interpolates)
    images: np.ndarray
    extra: np.ndarray | None
    w: float
    outputs: list
    generator_inputs: list = field(default_factory=list)  # for a fake: what G was given


def fresh(optimizer):
    return type(optimizer).from_config(optimizer.get_config())


def swap_in_doubles(model):
    """The model with a KnownDiscriminator and a recorded generator, optimizers rebuilt on them.
    StyleGAN's step draws from its synthesis network, not from `generator`: that is recorded."""
    model.discriminator = KnownDiscriminator.like(model.discriminator)
    if hasattr(model, "synthesis"):
        model.synthesis = Recorder(model.synthesis)
        drawer = model.synthesis
    else:
        model.generator = Recorder(model.generator)
        drawer = model.generator
    model.compile(g_optimizer=fresh(model.g_optimizer), d_optimizer=fresh(model.d_optimizer))
    return model, drawer


def chunks_of(discriminator: KnownDiscriminator, drawer: Recorder, real_batches: list) -> list[Chunk]:
    """Every discriminator call cut into batch-sized chunks (SN-GAN shows D real and fake in one
    call), each told real, fake or other by comparing it with the real batches and G's outputs."""
    size = len(real_batches[0])
    chunks = []
    for call in discriminator.calls:
        for start in range(0, len(call.images), size):
            rows = slice(start, start + size)
            images = call.images[rows]
            extra = None if call.extra is None else call.extra[rows]
            outputs = [np.asarray(o[rows], np.float64) for o in call.outputs]
            chunk = Chunk("other", images, extra, call.w, outputs)
            if any(np.array_equal(images, batch) for batch in real_batches):
                chunk.kind = "real"
            for inputs, output in drawer.calls:
                if np.array_equal(images, output):
                    chunk.kind = "fake"
                    chunk.generator_inputs = inputs if isinstance(inputs, list) else [inputs]
            chunks.append(chunk)
    return chunks
