"""How many epochs each variant needs, at its paper defaults, before its samples are digits.

    python benchmarks/epochs_to_digits.py [--variants gan,wgan,wgan_gp] [--max-epochs 8] [--data mnist.npz]

"Digits" is a threshold on the evaluator, calibrated by eye on one-epoch grids of this machine:
FID <= 320 on 10,000 samples and all ten classes among them (DCGAN after one epoch, FID 316,
and LSGAN, 273, draw recognisable digits; WGAN-GP at 368 with nine classes does not). Trains with
`ganlib.train.train` (seed 0, full MNIST), scores after every epoch, stops at the first epoch that
passes, and prints per variant the epoch, generator steps, training images and wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FID_THRESHOLD = 320.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="gan,wgan,wgan_gp")
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default=None, help="keep each run's grids and logs here")
    args = parser.parse_args()

    import keras

    from ganlib.data import NUM_CLASSES
    from ganlib.metrics import quick_scores
    from ganlib.train import train

    class StopAtDigits(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.scores, self.passed_at = [], None

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            scores = quick_scores(self.model, args.samples, seed=0, data=args.data)
            scores["wall_s"] = time.perf_counter() - self.start
            self.scores.append(scores)
            print(
                f"  epoch {epoch + 1}: FID {scores['fid']:.1f}, classes {scores['classes_covered']}, "
                f"{scores['wall_s']:.0f} s",
                flush=True,
            )
            if scores["fid"] <= FID_THRESHOLD and scores["classes_covered"] == NUM_CLASSES:
                self.passed_at = epoch + 1
                self.model.stop_training = True

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(args.out or folder)
        for variant in args.variants.split(","):
            print(f"{variant}:", flush=True)
            stop = StopAtDigits()
            record = train(
                variant,
                root / variant,
                epochs=args.max_epochs,
                data=args.data,
                verbose=0,
                evaluate_at_end=False,
                extra_callbacks=[stop],
            )
            rows.append(
                (
                    variant,
                    stop.passed_at,
                    record["generator_steps"],
                    record["training_images"],
                    stop.scores[-1]["fid"],
                    stop.scores[-1]["classes_covered"],
                    stop.scores[-1]["wall_s"],
                )
            )
    print(
        f"\n{'variant':10s} {'epochs to digits':>17s} {'G steps':>8s} {'images':>9s} "
        f"{'FID':>7s} {'classes':>7s} {'wall s':>7s}"
    )
    for variant, passed, steps, images, fid, classes, wall in rows:
        epochs = str(passed) if passed else f"> {args.max_epochs}"
        print(f"{variant:10s} {epochs:>17s} {steps:8d} {images:9d} {fid:7.1f} {classes:7d} {wall:7.0f}")


if __name__ == "__main__":
    main()
