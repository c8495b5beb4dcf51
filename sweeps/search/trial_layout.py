"""What a trial's config and its checkpoints hold: shared by the trainable that writes them and the
export that reads them, with neither Ray nor TensorFlow to import.

A trial's config holds the searched hyperparameters at the top level and everything the sweep
fixes under "run" (variant, data, seed, budget, evaluation size, resources).
"""

from __future__ import annotations

# Inside a finished trial's last checkpoint: its generator files and sample grid.
FINAL_FILES = "final"


def hyperparameters(config: dict) -> dict:
    """The trial's searched hyperparameters (its config less what the sweep fixes)."""
    return {key: value for key, value in config.items() if key != "run"}
