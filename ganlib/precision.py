"""Numeric precision of training: float32, or Keras mixed precision.

`mixed_bfloat16` keeps float32 weights and computes in bfloat16 (CPUs with AVX512-BF16, TPUs,
Ampere GPUs); bfloat16 has float32's exponent range, so no loss scaling is needed. Losses are
computed in float32 either way (ganlib.losses casts). `mixed_float16` is for GPUs (CPUs run it,
slowly): float16 gradients underflow, so `GAN.compile` wraps both optimizers in Keras's
LossScaleOptimizer and every train_step takes its gradient steps through `GAN.descend`
(ganlib.base), which applies the optimizer's current loss scale.
"""

from __future__ import annotations

from ganlib.errors import ConfigError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def set_precision(precision: str) -> None:
    """Set Keras's global dtype policy; call before building a model."""
    import keras

    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r} is not allowed: choose one of {', '.join(PRECISIONS)}")
    keras.mixed_precision.set_global_policy(precision)
