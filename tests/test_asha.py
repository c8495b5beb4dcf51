"""sweeps/search/finalist.py: ASHA's rule applied at every report. The rungs alone, then the scheduler
against Ray's own ASHAScheduler on one timeline of trials whose quality rises as a learning
searcher's does. (On real Tune it runs in every sweep test: it is tune_all's default.)"""

from __future__ import annotations

import pytest

from ganlib.errors import ConfigError
from sweeps.search.finalist import KeepsAFinalist, RejudgingASHA, Rungs, replay


def test_rungs_lie_at_grace_times_powers_of_eta_below_the_budget():
    assert list(Rungs(3, 27, 3).recorded) == [3, 9]
    assert list(Rungs(4800, 43200, 3).recorded) == [4800, 14400]
    assert list(Rungs(1, 4, 2).recorded) == [1, 2]


@pytest.mark.parametrize("args, words", [((0, 27, 3), ["grace_period=0"]), ((30, 27, 3), ["grace_period=30"]),
                                         ((3, 27, 1), ["reduction_factor=1"])])
def test_rungs_that_make_no_sense_are_refused(args, words):
    with pytest.raises(ConfigError) as error:
        Rungs(*args)
    assert all(word in str(error.value) for word in words)


def test_a_trial_let_through_early_is_stopped_once_later_trials_outrank_it():
    rungs = Rungs(3, 27, 3)
    rungs.record("first", 3, -500.0)  # rewards: minus the FID
    assert rungs.keeps("first")  # alone at the rung: nothing to compare with
    rungs.record("first", 9, -400.0)
    assert rungs.keeps("first")
    rungs.record("second", 3, -300.0)
    assert rungs.keeps("second") and not rungs.keeps("first")  # floor(2 / 3) is 0, but one goes on
    rungs.record("third", 4, -350.0)  # recorded at its first report past the rung
    assert rungs.recorded[3]["third"] == -350.0
    assert rungs.keeps("second") and not rungs.keeps("third")
    rungs.record("diverged", 3, float("nan"))
    assert "diverged" not in rungs.recorded[3]


def test_of_nine_trials_a_third_pass_the_first_rung():
    rungs = Rungs(3, 27, 3)
    for rank in range(9):
        rungs.record(f"t{rank}", 3, -float(rank))
    assert [f"t{rank}" for rank in range(9) if rungs.keeps(f"t{rank}")] == ["t0", "t1", "t2"]


class Trial:
    def __init__(self, trial_id: str):
        self.trial_id = trial_id


def reports_per_trial(scheduler, fids: list[float], slots: int = 2, max_t: int = 27) -> list[int]:
    """Trials run `slots` at a time, one report each per tick; a freed slot takes the next trial
    at once. Each trial's FID is fixed, and each later one is better: a learning searcher's order."""
    curves = {f"t{i}": [fid] * max_t for i, fid in enumerate(fids)}
    return list(replay(scheduler, curves, slots, "training_iteration").values())


def test_with_later_trials_better_rays_asha_runs_nearly_all_to_the_end_and_this_one_under_two_thirds():
    from ray.tune.schedulers import ASHAScheduler

    rungs = {"time_attr": "training_iteration", "metric": "fid", "mode": "min", "max_t": 27, "grace_period": 3, "reduction_factor": 3}
    fids = [900.0, 800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0]
    once = reports_per_trial(ASHAScheduler(**rungs), fids)
    rejudged = reports_per_trial(KeepsAFinalist(RejudgingASHA(**rungs), **rungs), fids)
    full = 27 * len(fids)
    assert sum(once) > 0.85 * full, once  # each trial beats the ones before: judged once, all pass
    # 151 of 243: each stops once two later ones outrank it, but t1, the leader until a trial has
    # run its whole budget, runs all 27 (t0 paused beside it, then stopped)
    assert sum(rejudged) < 0.65 * full, rejudged
    assert rejudged[1] == 27 and rejudged[-1] == 27  # the first finalist, and the best trial


def test_reports_without_the_time_or_the_metric_are_let_through_and_the_budget_ends_a_trial():
    from ray.tune.schedulers import TrialScheduler

    scheduler = RejudgingASHA("training_iteration", "fid", "min", max_t=27, grace_period=3, reduction_factor=3)
    assert scheduler.on_trial_result(None, Trial("a"), {"fid": 5.0}) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, Trial("a"), {"training_iteration": 27, "fid": 5.0}) == TrialScheduler.STOP
    with pytest.raises(ConfigError, match="mode='lowest'"):
        RejudgingASHA("training_iteration", "fid", "lowest", max_t=27, grace_period=3, reduction_factor=3)


# ---- the finalist guarantee, over many generated sweeps ----------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

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


def guarded(rule_name: str, **rungs):
    """A sweep's scheduler as sweeps.search.schedulers.make_scheduler builds it: a rule inside KeepsAFinalist."""
    from ray.tune.schedulers import ASHAScheduler

    rule = RejudgingASHA(**rungs) if rule_name == "asha" else ASHAScheduler(**{k: v for k, v in rungs.items() if k != "cap"})
    return KeepsAFinalist(rule, **rungs)


@pytest.mark.parametrize("rule_name", ["asha", "ray_asha"])
@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=sweeps_of_curves())
def test_a_sweep_whose_trials_did_not_all_diverge_ends_with_a_trial_that_ran_its_whole_budget(rule_name, case):
    curves, budget, grace, eta, slots = case
    scheduler = guarded(rule_name, time_attr="training_iteration", metric="fid", mode="min", max_t=budget,
                        grace_period=grace, reduction_factor=eta, cap=SENTINEL)
    reports = replay(scheduler, curves, slots, "training_iteration", cap=SENTINEL)
    assert all(0 < reports[t] <= budget for t in curves), reports
    finished = [t for t in curves if reports[t] == budget and healthy(curves[t])]
    if any(healthy(curve) for curve in curves.values()):
        assert finished, (curves, reports)
    assert not scheduler.paused  # nothing left waiting for a resume that never comes


def test_crossing_curves_on_the_smoke_rungs_keep_a_finalist():
    """The issue's case: each trial outranked at some rung (smoke: grace 1, eta 2, 4 reports)."""
    # b leads at the first rung, a at the second; a is outranked at the first, b at the second
    curves = {"a": [500.0, 200.0, 300.0, 200.0], "b": [100.0, 500.0, 300.0, 500.0], "c": [600.0, 500.0, 200.0, 300.0]}
    rungs = {"time_attr": "training_iteration", "metric": "fid", "mode": "min", "max_t": 4, "grace_period": 1, "reduction_factor": 2}
    alone = replay(RejudgingASHA(**rungs), curves, 2, "training_iteration")
    assert 4 not in alone.values(), alone  # the rule on its own stops all three
    reports = replay(guarded("asha", **rungs), curves, 2, "training_iteration")
    assert 4 in reports.values(), reports
    assert sum(reports.values()) < 12  # and still stops some of the rest


def test_when_the_leader_diverges_a_paused_trial_resumes_and_finishes():
    from ray.tune.schedulers import ASHAScheduler

    nan = float("nan")
    curves = {"leader": [100.0, 90.0, nan, nan], "behind": [500.0, 400.0, 300.0, 200.0]}
    rungs = {"time_attr": "training_iteration", "metric": "fid", "mode": "min", "max_t": 4, "grace_period": 1, "reduction_factor": 2}
    rays = replay(ASHAScheduler(**rungs), curves, 2, "training_iteration")
    assert rays["behind"] < 4 and rays["leader"] == 3  # Ray's ASHA alone: stopped behind, then lost its leader
    for rule_name in ("asha", "ray_asha"):
        assert replay(guarded(rule_name, **rungs), curves, 2, "training_iteration") == {"leader": 3, "behind": 4}
