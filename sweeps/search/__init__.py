"""The Ray Tune sweep: its plan, trainable, per-variant search and early stopping, and export."""
