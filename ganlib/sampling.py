"""What a generator is fed: its inputs by name, fixed by a seed.

A generator's inputs are told apart by their names, and those names travel with an exported
generator file, so a bare file is sampled exactly as the model that made it: `GAN.generate` and
the scoring of exported files (ganlib.metrics.scoring) both feed `generator_inputs`. In
particular a generator is conditional when it takes a LABELS input (`is_conditional`): that is
the one definition, and it needs neither the model class nor the registry.
"""

from __future__ import annotations

import numpy as np

from ganlib.data import NUM_CLASSES
from ganlib.errors import ConfigError

# Input names with a meaning; any other input is noise.
LABELS = "labels"  # the digit a conditional generator is asked for (CGAN, ACGAN)
CATEGORY = "category"  # InfoGAN's categorical code
CONTINUOUS = "continuous"  # InfoGAN's continuous codes


def is_conditional(generator) -> bool:
    """Whether `generator` (a network, or a GAN model holding one) takes the digit labels."""
    network = getattr(generator, "generator", generator)
    return any(tensor.name == LABELS for tensor in network.inputs)


def generator_inputs(generator, n: int, seed: int, labels=None, category=None, continuous=None):
    """The inputs a generator takes, by input name, fixed by `seed`: what `generate` and the
    evaluation of an exported generator file both feed, so both score the same samples.

    latents ~ N(0, 1) from rng(seed); labels: given, else 0..9 in turn; InfoGAN's category: given,
    else uniform from rng(seed + 1); its continuous codes: given, else U(-1, 1) from rng(seed + 2).
    """
    arrays = []
    for tensor in generator.inputs:
        name, shape = tensor.name, tuple(tensor.shape[1:])
        if name == LABELS:
            value = np.arange(n) % NUM_CLASSES if labels is None else labels
            value = np.asarray(value, np.int32)
            if value.shape != (n,) or value.min() < 0 or value.max() >= NUM_CLASSES:
                raise ConfigError(
                    f"labels of shape {value.shape} are not allowed: need {n} digits in 0..{NUM_CLASSES - 1}"
                )
        elif name == CATEGORY:
            value = (
                np.random.default_rng(seed + 1).integers(0, NUM_CLASSES, n) if category is None else category
            )
            value = np.broadcast_to(np.asarray(value, np.int32), (n,))
        elif name == CONTINUOUS:
            value = (
                np.random.default_rng(seed + 2).uniform(-1.0, 1.0, (n,) + shape)
                if continuous is None
                else continuous
            )
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
        batch = (
            [a[start : start + batch_size] for a in inputs]
            if isinstance(inputs, list)
            else inputs[start : start + batch_size]
        )
        out.append(np.asarray(generator(batch, training=False), dtype=np.float32))
    return np.concatenate(out, axis=0)
