"""Training throughput of a variant, and for the seed's GAN against the seed paper's own loop.

    python benchmarks/train_step.py --variant gan --steps 50 --batch 128
        [--precision mixed_bfloat16] [--repeats 3]

Warms up (tracing), then times `--steps` generator steps through `model.fit`, `--repeats`
rounds, and prints the median as a line `images/s=<number>`. For `gan` it also times, in the same
process and on the same data, the reference: the TensorFlow DCGAN tutorial's loop (one
`tf.function` with two GradientTapes over the same networks), and prints the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def reference_loop(generator, discriminator, latent_dim, g_opt, d_opt):
    """The seed paper's training step, as its code writes it."""
    import tensorflow as tf

    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([tf.shape(images)[0], latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        d_opt.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def time_fit(model, dataset, steps, warmup=3):
    """Seconds for `steps` steps inside one `fit` (as real training runs): a callback stamps the
    window's edges; the first `warmup` steps (tracing, on the first call) are left out."""
    import keras

    stamps = {}

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch in (warmup - 1, warmup - 1 + steps):
                float(logs["d_loss"])  # wait for the step, as the reference does at its window's end
                stamps[batch] = time.perf_counter()

    model.fit(dataset, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[Stamp()])
    return stamps[warmup - 1 + steps] - stamps[warmup - 1]


def time_reference(step, dataset, steps):
    iterator = iter(dataset)
    for _ in range(3):
        step(next(iterator)[0])
    start = time.perf_counter()
    for _ in range(steps):
        losses = step(next(iterator)[0])
    float(losses[0])  # wait for the last step
    return time.perf_counter() - start


def paired_ratio_interval(ratios: list[float], seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the median per-round ratio: whether ganlib is faster, slower, or
    level with the reference beyond the machine's round-to-round noise."""
    import numpy as np
    from scipy.stats import bootstrap

    result = bootstrap(
        (np.asarray(ratios),),
        np.median,
        confidence_level=0.95,
        n_resamples=2000,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="gan")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=None, help="default: the variant's")
    parser.add_argument(
        "--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"]
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="rounds, each timing ganlib then the reference"
    )
    parser.add_argument("--data", default=None)
    parser.add_argument(
        "--jit-compile", action="store_true", help="ganlib's step through XLA (the reference stays plain)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()

    import keras

    from ganlib.precision import set_precision
    from ganlib.run import Run
    from ganlib.train import parse_assignments

    overrides = parse_assignments(args.set)
    if args.batch:
        overrides["batch_size"] = args.batch
    run = Run(args.variant, overrides, seed=0, data=args.data, per_class=500, precision=args.precision)
    config, model = run.config, run.model
    model.jit_compile = args.jit_compile
    dataset = run.dataset(repeat=True)
    reference_step = None
    if args.variant == "gan":
        from ganlib.batch_norm import as_keras_batch_norm
        from ganlib.variants.gan import tutorial_discriminator, tutorial_generator

        # the reference is always the seed's float32 loop: a mixed-precision run is judged against it
        set_precision("float32")
        keras.utils.set_random_seed(0)
        # the seed's networks in the seed's layers: Keras's own BatchNormalization, not ganlib's fused one
        generator, discriminator = (
            as_keras_batch_norm(tutorial_generator(config["latent_dim"])),
            tutorial_discriminator(),
        )
        reference_step = reference_loop(
            generator,
            discriminator,
            config["latent_dim"],
            keras.optimizers.Adam(1e-4),
            keras.optimizers.Adam(1e-4),
        )
    # ganlib and the reference take turns, one window each per round, so drift in the machine's
    # speed (other processes, clocks) falls on both alike; medians over the rounds.
    ganlib_seconds, reference_seconds = [], []
    for _ in range(args.repeats):
        ganlib_seconds.append(time_fit(model, dataset, args.steps))
        if reference_step is not None:
            reference_seconds.append(time_reference(reference_step, dataset, args.steps))
    seconds = statistics.median(ganlib_seconds)
    rate = args.steps * run.images_per_step / seconds
    print(
        f"{args.variant} {args.precision}{' XLA' if args.jit_compile else ''} "
        f"batch {config['batch_size']}: {seconds / args.steps * 1000:.1f} ms/step "
        f"(median of {args.repeats} rounds; "
        f"{', '.join(f'{s / args.steps * 1000:.0f}' for s in ganlib_seconds)})"
    )
    if reference_seconds:
        reference = statistics.median(reference_seconds)
        reference_rate = args.steps * run.images_per_step / reference
        ratios = [r / g for g, r in zip(ganlib_seconds, reference_seconds)]
        print(
            f"reference loop (float32): {reference / args.steps * 1000:.1f} ms/step, "
            f"images/s={reference_rate:.0f} "
            f"({', '.join(f'{s / args.steps * 1000:.0f}' for s in reference_seconds)})"
        )
        print(
            f"ratio ganlib / reference = {rate / reference_rate:.3f} "
            f"(per round: {', '.join(f'{r:.3f}' for r in ratios)})"
        )
        if len(ratios) >= 3:
            low, high = paired_ratio_interval(ratios)
            print(
                f"median of per-round ratios {statistics.median(ratios):.3f}, "
                f"95% bootstrap interval [{low:.3f}, {high:.3f}]: "
                f"{'faster' if low > 1 else 'slower' if high < 1 else 'level within noise'}"
            )
    print(f"images/s={rate:.1f}")


if __name__ == "__main__":
    main()
