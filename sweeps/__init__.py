"""The Ray Tune layer over ganlib: trainable, search spaces, presets, export and report.

Nothing here builds layers; everything model-shaped comes from ganlib.
"""
