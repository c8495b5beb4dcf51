"""A fingerprint of every variant's first training steps, to show a refactor changed no number.

    python benchmarks/fingerprint.py [--steps 3] > before.json   # then, after the change:
    python benchmarks/fingerprint.py [--steps 3] | diff before.json -

With op determinism on, each variant at a quarter width trains `--steps` steps on fixed batches
of real digits, each in a fresh process (StyleGAN built after the ten others in one process came
out differently from one run to the next; alone it repeats); printed per variant: the epoch's mean
losses and a SHA-256 of every weight and optimizer slot after them. Equal lines mean bit-identical
training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fingerprint(variant: str, steps: int, mnist) -> dict:
    import keras
    import numpy as np

    from ganlib import data, registry

    digits = data.balanced_subset(data.load_digits(mnist, "train"), 10, seed=0)
    keras.utils.set_random_seed(0)
    model = registry.build(variant, {"width": 0.25, "batch_size": 16}, seed=0)
    batches = data.make_dataset(digits, 16 * model.real_batches_per_step, seed=0, repeat=True).take(steps)
    history = model.fit(batches, epochs=1, verbose=0, shuffle=False)
    losses = {key: [float(v) for v in values] for key, values in history.history.items()}
    digest = hashlib.sha256()
    for array in model.get_weights() + [v.numpy() for o, _ in model.optimizer_targets() for v in o.variables]:
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"variant": variant, "losses": losses, "state_sha256": digest.hexdigest()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--variants", default="all")
    parser.add_argument("--data", default=None, help="mnist.npz (default: $GANLIB_MNIST)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        print(json.dumps(fingerprint(args.one, args.steps, args.data), sort_keys=True))
        return 0
    from ganlib import registry

    for variant in registry.names() if args.variants == "all" else args.variants.split(","):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                variant,
                "--steps",
                str(args.steps),
                *(["--data", args.data] if args.data else []),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
        print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
