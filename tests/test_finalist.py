"""sweeps/search/finalist.py: a stopping rule inside KeepsAFinalist never leaves a variant without a
trial that ran its whole budget. The rungs alone, then the scheduler replayed over generated sweeps
(tests/scheduler_replay.py). (On real Tune it runs in every sweep test: it is tune_all's default.)"""

from __future__ import annotations

import pytest
from scheduler_replay import replay

from ganlib.errors import ConfigError
from sweeps.search.finalist import KeepsAFinalist, Rungs


def test_rungs_lie_at_grace_times_powers_of_eta_below_the_budget():
    assert list(Rungs(3, 27, 3).recorded) == [3, 9]
    assert list(Rungs(4800, 43200, 3).recorded) == [4800, 14400]
    assert list(Rungs(1, 4, 2).recorded) == [1, 2]


@pytest.mark.parametrize(
    "args, words",
    [
        ((0, 27, 3), ["grace_period=0"]),
        ((30, 27, 3), ["grace_period=30"]),
        ((3, 27, 1), ["reduction_factor=1"]),
    ],
)
def test_rungs_that_make_no_sense_are_refused(args, words):
    with pytest.raises(ConfigError) as error:
        Rungs(*args)
    assert all(word in str(error.value) for word in words)


class Trial:
    def __init__(self, trial_id: str):
        self.trial_id = trial_id


def test_reports_without_the_time_or_the_metric_are_let_through_and_the_budget_ends_a_trial():
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    rungs = {
        "time_attr": "training_iteration",
        "metric": "fid",
        "mode": "min",
        "max_t": 27,
        "grace_period": 3,
        "reduction_factor": 3,
    }
    scheduler = KeepsAFinalist(ASHAScheduler(**rungs), **rungs)
    assert scheduler.on_trial_result(None, Trial("a"), {"fid": 5.0}) == TrialScheduler.CONTINUE
    last = {"training_iteration": 27, "fid": 5.0}
    assert scheduler.on_trial_result(None, Trial("a"), last) == TrialScheduler.STOP
    assert scheduler.finalists == {"a"}
    with pytest.raises(ConfigError, match="mode='lowest'"):
        KeepsAFinalist(ASHAScheduler(**rungs), **{**rungs, "mode": "lowest"})


# ---- the finalist guarantee, over many generated sweeps ----------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402  (imported with the section that uses it)

from ganlib.divergence import SENTINEL_FID as SENTINEL  # noqa: E402  (what a diverged trial reports)

FID = st.one_of(
    st.floats(0.0, 1000.0, allow_nan=False),
    st.sampled_from([100.0, 200.0, 300.0]),  # ties
    st.just(float("nan")),
    st.just(SENTINEL),
)


@st.composite
def sweeps_of_curves(draw):
    """Random curves: crossing, tied, diverging (NaN or the sentinel) anywhere, 1 to 9 trials."""
    budget = draw(st.integers(2, 10))
    trials = draw(st.integers(1, 9))
    curves = {f"t{i}": draw(st.lists(FID, min_size=budget, max_size=budget)) for i in range(trials)}
    grace = draw(st.integers(1, budget))
    eta = draw(st.integers(2, 4))
    slots = draw(st.integers(1, 4))
    return curves, budget, grace, eta, slots


def healthy(curve: list[float]) -> bool:
    return all(value == value and value < SENTINEL for value in curve)


def guarded(**rungs):
    """A sweep's scheduler as sweeps.search.schedulers.variant_rule builds it: Ray's ASHA inside
    KeepsAFinalist."""
    from ray.tune.schedulers import ASHAScheduler

    return KeepsAFinalist(ASHAScheduler(**{k: v for k, v in rungs.items() if k != "cap"}), **rungs)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=sweeps_of_curves())
def test_a_sweep_whose_trials_did_not_all_diverge_ends_with_a_trial_that_ran_its_whole_budget(case):
    curves, budget, grace, eta, slots = case
    scheduler = guarded(
        time_attr="training_iteration",
        metric="fid",
        mode="min",
        max_t=budget,
        grace_period=grace,
        reduction_factor=eta,
        cap=SENTINEL,
    )
    reports = replay(scheduler, curves, slots, "training_iteration", cap=SENTINEL)
    assert all(0 < reports[t] <= budget for t in curves), reports
    finished = [t for t in curves if reports[t] == budget and healthy(curves[t])]
    if any(healthy(curve) for curve in curves.values()):
        assert finished, (curves, reports)
    assert not scheduler.paused  # nothing left waiting for a resume that never comes


def test_when_the_leader_diverges_a_paused_trial_resumes_and_finishes():
    from ray.tune.schedulers import ASHAScheduler

    nan = float("nan")
    curves = {"leader": [100.0, 90.0, nan, nan], "behind": [500.0, 400.0, 300.0, 200.0]}
    rungs = {
        "time_attr": "training_iteration",
        "metric": "fid",
        "mode": "min",
        "max_t": 4,
        "grace_period": 1,
        "reduction_factor": 2,
    }
    rays = replay(ASHAScheduler(**rungs), curves, 2, "training_iteration")
    # Ray's ASHA alone: stopped behind, then lost its leader
    assert rays["behind"] < 4 and rays["leader"] == 3
    assert replay(guarded(**rungs), curves, 2, "training_iteration") == {"leader": 3, "behind": 4}
