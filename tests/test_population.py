"""Population Based Training's pieces without Ray running: what may mutate and within what range,
the members' starting points, bad input refused before Ray starts, the round arithmetic that a
schedule's replay shares with the trainable, and a restored state training on with the config's
learning rate (what makes PBT's mutation of it take effect)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlib import registry
from ganlib.errors import ConfigError
from ganlib.schedule import steps_in_round
from sweeps.search.population import (
    PopulationStart,
    check_ranges,
    keep_inside,
    mutation_space,
    parse_ranges,
)
from sweeps.search.spaces import optuna_space

SMOKE_FIXED = {"width": 0.25, "batch_size": 32}


@pytest.mark.parametrize("variant", registry.names())
def test_pbt_mutates_what_may_change_mid_run_and_nothing_else(variant):
    space = mutation_space(variant, SMOKE_FIXED)
    searched = set(optuna_space(variant, SMOKE_FIXED))
    assert set(space) == searched & registry.MUTABLE
    assert not {"latent_dim", "batch_size", "width", "style_dim", "mapping_depth"} & set(space)
    assert {"g_lr", "d_lr"} <= set(space)


MUTATIONS = [(variant, name) for variant in registry.names() for name in mutation_space(variant, SMOKE_FIXED)]


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(MUTATIONS),
    where=st.floats(0.0, 1.0),
    factors=st.lists(st.sampled_from([0.8, 1.2]), min_size=1, max_size=12),
)
def test_a_mutated_value_stays_inside_what_its_variant_allows(case, where, factors):
    """PBT multiplies a number by 0.8 or 1.2 at each copy, over and over; with keep_inside the value
    stays in its range (without it, beta1 0.9 x 1.2 = 1.08 is refused by the variant)."""
    variant, name = case
    space = mutation_space(variant, SMOKE_FIXED)
    values = space[name]
    allowed = registry.get(variant).allowed[name]
    explore = keep_inside(space)
    if isinstance(values, list):  # choices and integers: PBT steps along the list
        value = values[round(where * (len(values) - 1))]
        assert allowed.contains(value)
        return
    low, high, _ = values
    config = {name: low + where * (high - low)}
    for factor in factors:
        config[name] *= factor
        config = explore(config)
        assert low <= config[name] <= high
        assert allowed.contains(config[name])


def test_mutation_ranges_from_the_command_line_are_checked():
    assert parse_ranges(["g_lr=1e-5:1e-3"]) == {"g_lr": (1e-5, 1e-3)}
    for bad in ["g_lr=1e-3", "g_lr", "g_lr=a:b"]:
        with pytest.raises(ConfigError, match="NAME=LOW:HIGH"):
            parse_ranges([bad])
    check_ranges(["gan"], {"beta1": (0.1, 0.9)})
    refusals = {
        ("gan", "beta1", 0.1, 1.5): "beta1 must lie in",
        ("gan", "latent_dim", 32.0, 64.0): "cannot change mid-run",
        ("gan", "n_critic", 1.0, 5.0): "no selected variant",
        ("wgan", "n_critic", 0.0, 5.0): "positive integer",
        ("gan", "g_lr", 1e-3, 1e-5): "LOW < HIGH",
    }
    for (variant, name, low, high), message in refusals.items():
        with pytest.raises(ConfigError, match=message):
            check_ranges([variant], {name: (low, high)})


def test_a_range_from_the_command_line_replaces_the_search_range():
    assert mutation_space("gan", SMOKE_FIXED, {"g_lr": (1e-4, 2e-4)})["g_lr"] == (1e-4, 2e-4, True)
    assert mutation_space("wgan", SMOKE_FIXED, {"n_critic": (2, 4)})["n_critic"] == [2, 3, 4]


def test_a_population_starts_from_the_papers_defaults_then_seeded_random_points(tmp_path):
    run = {"fixed": SMOKE_FIXED}
    first = PopulationStart("dcgan", run, 5, seed=1)
    points = [first.suggest(f"t{i}") for i in range(5)]
    assert first.suggest("t5") == PopulationStart.FINISHED
    defaults = registry.get("dcgan").defaults
    assert points[0] == {name: defaults[name] for name in points[0]}
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 5
    again = PopulationStart("dcgan", run, 5, seed=1)
    assert [again.suggest(str(i)) for i in range(5)] == points
    other = PopulationStart("dcgan", run, 5, seed=2)
    assert [other.suggest(str(i)) for i in range(5)][1:] != points[1:]
    # a resumed sweep goes on where the saved one was
    half = PopulationStart("dcgan", run, 5, seed=1)
    half.suggest("a"), half.suggest("b")
    half.save(tmp_path / "saved")
    restored = PopulationStart("dcgan", run, 5, seed=9)
    restored.restore(tmp_path / "saved")
    assert [restored.suggest(str(i)) for i in range(3)] == points[2:]


@settings(max_examples=300, deadline=None)
@given(
    per_round=st.integers(100, 20_000),
    per_step=st.lists(st.integers(1, 700), min_size=1, max_size=40),
)
def test_report_k_is_the_first_at_or_past_k_rounds_of_images(per_round, per_step):
    """Whatever a step takes, and however it changes (PBT mutating n_critic), the images after round
    k lie in [k x per_round, k x per_round + a step): rungs and PBT's meeting points in training
    images fall on reports, and the last round reaches the budget."""
    images = 0
    for k, step in enumerate(per_step, start=1):
        before = images
        images += steps_in_round(k, per_round, images, step) * step
        assert images >= k * per_round
        assert images < max(before + 1, k * per_round) + step  # one step past at most (one is always taken)


def test_bad_pbt_input_is_refused_in_one_line_before_ray_starts(tmp_path, mnist_path, capsys):
    from sweeps.tune_all import main

    base = ["--variants", "gan", "--data", str(mnist_path), "--storage", str(tmp_path / "s")]
    cases = {
        ("--scheduler", "pbt", "--num-samples", "1"): "--num-samples 1 is not allowed with --scheduler pbt",
        ("--scheduler", "pbt", "--mutate", "beta1=0.1:1.5"): "beta1 must lie in [0.0, 1.0)",
        ("--scheduler", "pbt", "--mutate", "latent_dim=32:64"): "'latent_dim' cannot change mid-run",
        ("--mutate", "g_lr=1e-5:1e-3"): "not allowed without --scheduler pbt or pb2",
        ("--scheduler", "pbt", "--set", "g_lr=1e-4", "--set", "d_lr=1e-4", "--set", "beta1=0.5"): (
            "gan has no hyperparameter left to mutate"
        ),
    }
    for extra, message in cases.items():
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (extra, err)
    assert not (tmp_path / "s").exists()  # nothing made, nothing lost


def test_a_restored_state_trains_on_with_the_configs_learning_rate(tmp_path, mnist_path):
    """PBT copies a donor's whole state into a member and mutates its learning rates: Keras keeps
    a learning rate among the optimizer's variables, so restoring it would quietly undo the
    mutation. Everything else (weights, slots, step counts) is the donor's."""
    import numpy as np

    from ganlib.run import Run

    donor = Run("gan", {"width": 0.25, "batch_size": 16}, data=mnist_path, per_class=10)
    donor.train(donor.dataset(repeat=True), steps_per_epoch=2)
    donor.save(tmp_path)
    member = Run(
        "gan", {"width": 0.25, "batch_size": 16, "g_lr": 3e-4, "d_lr": 5e-5}, data=mnist_path, per_class=10
    )
    member.restore(tmp_path)
    assert float(member.model.g_optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(member.model.d_optimizer.learning_rate) == pytest.approx(5e-5)
    assert int(member.model.g_optimizer.iterations) == 2
    for mine, theirs in zip(member.model.variables, donor.model.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_a_schedule_file_that_is_not_one_is_refused_in_one_line(tmp_path, capsys):
    from ganlib.train import main

    bad = tmp_path / "schedule.json"
    bad.write_text(json.dumps({"variant": "gan", "rounds": 2, "images_per_round": 100, "segments": []}))
    for path, message in [
        (tmp_path / "missing.json", "no such file"),
        (bad, "segment rounds [] are not allowed"),
    ]:
        assert main(["--schedule", str(path), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


class StandInPBT:
    """What ReplacesDiverged needs of Ray's PBT: a decision per report, and, when told to, a copy of
    a better member into the reporting one (PBT gives the member a new config object)."""

    def __init__(self):
        self.plan: list[tuple[str, bool]] = []  # per report: (decision, copy into the member now)

    def on_trial_result(self, controller, trial, result):
        decision, copy = self.plan.pop(0)
        if copy:
            trial.config = {**trial.config, "g_lr": 2e-4}
        return decision

    def copy_into(self, trial):  # what the meeting point does while the member waits
        trial.config = {**trial.config, "g_lr": 3e-4}


class Member:
    def __init__(self):
        self.trial_id, self.config = "m1", {"g_lr": 1e-4, "run": {"variant": "gan"}}


def test_a_diverged_member_is_replaced_by_a_copy_or_else_stopped():
    from ray.tune.schedulers import TrialScheduler

    from sweeps.search.population import ReplacesDiverged

    good, bad = {"fid": 300.0}, {"fid": 1e6, "diverged": True}
    pbt = StandInPBT()
    rule = ReplacesDiverged(pbt, cap=1e4)
    # copied into at the report it diverged on: goes on as the copy
    member = Member()
    pbt.plan = [(TrialScheduler.NOOP, True)]
    assert rule.on_trial_result(None, member, bad) == TrialScheduler.NOOP
    assert rule.replaced_diverged == 1
    # diverged while the population waits for its meeting point: waits, then is the copy made there
    member = Member()
    pbt.plan = [(TrialScheduler.PAUSE, False), (TrialScheduler.PAUSE, False)]
    assert rule.on_trial_result(None, member, bad) == TrialScheduler.PAUSE
    pbt.copy_into(member)
    assert rule.on_trial_result(None, member, good) == TrialScheduler.PAUSE
    assert (rule.replaced_diverged, rule.stopped_diverged) == (2, 0)
    # waited and was not copied into: stopped at its next (still diverged) report
    member = Member()
    pbt.plan = [(TrialScheduler.PAUSE, False)]
    assert rule.on_trial_result(None, member, bad) == TrialScheduler.PAUSE
    assert rule.on_trial_result(None, member, bad) == TrialScheduler.STOP
    # in its burn-in PBT lets it go on: a diverged member cannot, so it stops at once
    member = Member()
    pbt.plan = [(TrialScheduler.CONTINUE, False)]
    assert rule.on_trial_result(None, member, bad) == TrialScheduler.STOP
    assert (rule.replaced_diverged, rule.stopped_diverged) == (2, 2)
    # a member that has not diverged gets PBT's decision whatever it is
    pbt.plan = [(TrialScheduler.CONTINUE, False)]
    assert rule.on_trial_result(None, Member(), good) == TrialScheduler.CONTINUE


def test_a_trial_given_a_schedule_switches_config_where_it_says(tmp_path, mnist_path, monkeypatch):
    """The final stage retrains a PBT winner with other seeds by its schedule: the trainable takes
    each segment's config from its round on (a fresh model from it, the state carried over, the
    data restarted), and records the switch in its own schedule."""
    from sweeps.search.trainable import GANTrainable

    fixed = {"width": 0.25, "batch_size": 16}
    first, second = {**fixed, "g_lr": 1e-4, "d_lr": 1e-4}, {**fixed, "g_lr": 4e-4, "d_lr": 2e-5}
    run = {
        "variant": "gan",
        "data": str(mnist_path),
        "seed": 3,
        "per_class": 10,
        "fixed": fixed,
        "eval_every_images": 64,
        "max_rounds": 3,
        "eval_samples": 100,
        "final_eval_samples": 100,
        "cpus_per_trial": 1,
        "gpus_per_trial": 0,
        "scheduler": "none",
        "schedule": [{"round": 0, "config": first}, {"round": 2, "config": second}],
    }
    # as if a worker had placed TensorFlow: this process's thread pools stay as they are; and no
    # Ray here (ray.get_gpu_ids would start one in this process, on the machine's address)
    monkeypatch.setattr(GANTrainable, "placement", {"threads": 0, "gpus_visible": 0})
    monkeypatch.setattr("ray.get_gpu_ids", lambda: [])
    trainable = GANTrainable({"run": run, "g_lr": 1e-4, "d_lr": 1e-4})
    rates = []
    for _ in range(3):
        trainable.train()
        rates.append(float(trainable.model.g_optimizer.learning_rate))
    assert rates == pytest.approx([1e-4, 1e-4, 4e-4])
    assert float(trainable.model.d_optimizer.learning_rate) == pytest.approx(2e-5)
    assert [s["round"] for s in trainable.segments] == [0, 2]
    assert trainable.segments[1]["config"] == second
    assert int(trainable.model.g_optimizer.iterations) == 3 * 4  # the state went on, not restarted
    trainable.stop()
    import ray

    assert not ray.is_initialized()


def test_pb2_gets_an_interval_per_number_and_its_proposals_land_on_allowed_values():
    from sweeps.search.population import make_rule, pb2_bounds
    from sweeps.search.presets import get

    space = mutation_space("wgan_gp", SMOKE_FIXED)
    bounds = pb2_bounds(space)
    assert bounds["n_critic"] == [1, 10] and bounds["beta1"] == [0.0, 0.5]
    explore = keep_inside(space)
    proposed = explore({"n_critic": 3.6, "beta1": 0.3, "g_lr": 5.0, "gp_weight": 1e-9})
    assert proposed["n_critic"] == 4 and proposed["beta1"] == 0.5
    assert proposed["g_lr"] == space["g_lr"][1] and proposed["gp_weight"] == space["gp_weight"][0]
    rule = make_rule("wgan_gp", SMOKE_FIXED, get("smoke"), None, "pb2")
    assert type(rule.pbt).__name__ == "PB2"


def test_a_population_that_pbt_leaves_waiting_with_none_running_gets_a_member_started():
    """Synchronous PBT starts only members behind its next meeting point; should none be (a member
    ahead of a meeting point the others never report at), the population would wait for ever."""
    from ray.tune.experiment import Trial

    from sweeps.search.population import ReplacesDiverged

    class Waiting:
        def choose_trial_to_run(self, controller):
            return None

    class Controller:
        def __init__(self, trials):
            self.trials = trials

        def get_trials(self):
            return self.trials

    def member(status, images):
        trial = Member()
        trial.status, trial.last_result = status, {"budget_images": images}
        return trial

    rule = ReplacesDiverged(Waiting(), cap=1e4)
    behind, ahead = member(Trial.PAUSED, 3200), member(Trial.PAUSED, 4800)
    assert rule.choose_trial_to_run(Controller([ahead, behind, member(Trial.TERMINATED, 6400)])) is behind
    assert rule.unblocked == 1
    # while a member runs, PBT's own choice (none) stands
    assert rule.choose_trial_to_run(Controller([behind, member(Trial.RUNNING, 4800)])) is None
