"""How close a training step of the seed's GAN is to this machine's arithmetic peak.

    python benchmarks/flops.py [--batch 128] [--step-ms 330]

Counts the multiply-adds of every Dense / Conv2D / Conv2DTranspose layer of the seed's networks
(2 FLOPs each), takes a training step as forward + backward (backward = 2 x forward) of G on one
batch and of D on the real and the fake batch, measures this machine's float32 and bfloat16
matrix-multiply rate with TensorFlow, and prints FLOPs per step and the share of the peak that
a step at --step-ms reaches (take --step-ms from benchmarks/train_step.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def forward_flops(model) -> int:
    import numpy as np
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Conv2DTranspose):
            _, height, width, _ = layer.input.shape  # each input pixel scatters a kernel
            total += 2 * height * width * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Conv2D):
            _, height, width, _ = layer.output.shape  # each output pixel gathers a kernel
            total += 2 * height * width * int(np.prod(layer.kernel.shape))
    return total


def matmul_rate(dtype: str, size: int = 2048, repeats: int = 10) -> float:
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        result = product(a)
    result.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--step-ms", type=float, default=None, help="measured ms per training step")
    args = parser.parse_args()

    from ganlib.variants.gan import tutorial_discriminator, tutorial_generator

    g_forward, d_forward = forward_flops(tutorial_generator(100)), forward_flops(tutorial_discriminator())
    per_step = 3 * args.batch * (g_forward + 2 * d_forward)
    print(
        f"forward FLOPs per image: generator {g_forward / 1e6:.1f} M, discriminator {d_forward / 1e6:.1f} M"
    )
    print(f"training step at batch {args.batch}: {per_step / 1e9:.1f} GFLOP")
    for dtype in ("float32", "bfloat16"):
        rate = matmul_rate(dtype)
        line = f"matmul rate {dtype}: {rate / 1e9:.0f} GFLOP/s"
        if args.step_ms:
            achieved = per_step / (args.step_ms / 1000)
            line += (
                f"; a {args.step_ms:.0f} ms step runs at {achieved / 1e9:.0f} GFLOP/s "
                f"= {achieved / rate:.0%} of it"
            )
        print(line)


if __name__ == "__main__":
    main()
