"""The only private Ray API the sweep uses, each access in one function that says why: Ray 2.60 has
no public route for these. tests/test_adapters.py fails when the pinned Ray changes them."""

from __future__ import annotations


def save_stopped_trial(tune_controller, trial) -> None:
    """Have Ray write a stopped paused trial's new status (TERMINATED) into its saved experiment
    state.

    TuneController.stop_trial marks a stopped trial for the experiment state only when the trial
    has an actor; a paused trial has none, so the saved state kept calling it PAUSED: `--resume`
    would run it again and the driver would take the sweep for interrupted (HyperBand's stops of
    paused trials share this). A scheduler only gets TrialRunnerWrapper, whose public methods
    cannot mark a trial; the controller behind it (`_tune_controller`) and its
    `_mark_trial_to_checkpoint` are private. Missing route: a public way for a scheduler to stop a
    paused trial for good, or stop_trial marking every trial it stops.

    `tune_controller` without a controller behind it (tests/scheduler_replay.py's double) keeps no
    saved state: nothing to do."""
    controller = getattr(tune_controller, "_tune_controller", None)
    if controller is not None:
        controller._mark_trial_to_checkpoint(trial)


def start_local_ray(**init_args) -> None:
    """ray.init on this machine, bound to 127.0.0.1.

    Missing route: ray.init takes the node's address only as the private `_node_ip_address` (the
    public one is `ray start --node-ip-address`, a separate process the sweep would have to manage);
    without it Ray listens on the machine's reachable address. `address="local"`: a Ray started on
    this machine by `ray start` (a `ray up` head, a user's own) is left alone, where ray.init without
    an address would join it and refuse our CPU and GPU counts."""
    import ray

    ray.init(address="local", _node_ip_address="127.0.0.1", **init_args)
