"""The Ray Tune layer over ganlib, a subpackage a job: search/ (the sweep), study/ (the final stage
and measurements), reporting/ (the report, no Ray), cloud/ (AWS roles, exports in the bucket).
tune_all.py and report.py are the command lines.

Nothing here builds layers; everything model-shaped comes from ganlib.
"""
