"""All variants in one experiment (sweeps/search/per_variant.py): each keeps its own search, concurrency
limit and early stopping, and gets the same number of trials, over many generated sweeps."""

from __future__ import annotations

import math
import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ray.tune.search import ConcurrencyLimiter, Searcher
from scheduler_replay import replay

from sweeps.search.per_variant import SchedulerPerVariant, SearchPerVariant
from sweeps.search.schedulers import variant_rule

SENTINEL = 1e6


class CountingSearcher(Searcher):
    """Suggests numbered points and records what it was told, as a variant's TPE would be."""

    def __init__(self):
        super().__init__(metric="fid", mode="min")
        self.suggested, self.completed = [], []

    def suggest(self, trial_id):
        self.suggested.append(trial_id)
        return {"point": len(self.suggested)}

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.completed.append(trial_id)

    def save(self, checkpoint_path):
        with open(checkpoint_path, "wb") as handle:
            pickle.dump((self.suggested, self.completed), handle)

    def restore(self, checkpoint_path):
        with open(checkpoint_path, "rb") as handle:
            self.suggested, self.completed = pickle.load(handle)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    variants=st.integers(1, 5),
    num_samples=st.integers(1, 6),
    max_concurrent=st.integers(1, 4),
    completions=st.lists(st.integers(0, 1000), max_size=200),
)
def test_every_variant_gets_its_trials_within_its_own_limit_and_hears_only_of_its_own(
    variants, num_samples, max_concurrent, completions
):
    names = [f"v{i}" for i in range(variants)]
    inner = {name: CountingSearcher() for name in names}
    search = SearchPerVariant(
        {name: ConcurrencyLimiter(inner[name], max_concurrent) for name in names},
        {name: {"variant": name} for name in names},
        num_samples,
    )
    live: list[str] = []
    next_id, choices = 0, iter(completions)
    while True:
        suggestion = search.suggest(f"t{next_id}")
        if suggestion == Searcher.FINISHED:
            break
        if suggestion is not None:
            variant = suggestion["run"]["variant"]
            # fair: no variant with room had fewer trials than the one chosen
            counts = {name: len(inner[name].suggested) for name in names}
            assert all(
                counts[name] >= counts[variant] - 1
                for name in names
                if counts[name] < num_samples
                and sum(search.variant_of[t] == name for t in live) < max_concurrent
            )
            live.append(f"t{next_id}")
            next_id += 1
            continue
        assert live, "nothing runs, yet the searcher suggests nothing"
        done = live.pop(next(choices, 0) % len(live))  # trials end in any order
        search.on_trial_complete(done, {"fid": 1.0})
    for name in names:
        assert len(inner[name].suggested) == num_samples  # the same number of trials for every variant
        assert set(inner[name].completed) <= set(inner[name].suggested)  # told only of its own trials
    for trial in live:  # the rest end after the last suggestion
        search.on_trial_complete(trial, {"fid": 1.0})
    assert all(sorted(inner[n].completed) == sorted(inner[n].suggested) for n in names)


def test_a_variants_concurrency_limit_holds_while_other_variants_suggest():
    inner = {name: CountingSearcher() for name in ("a", "b")}
    search = SearchPerVariant(
        {name: ConcurrencyLimiter(inner[name], 2) for name in inner}, {n: {"variant": n} for n in inner}, 5
    )
    given_out = [search.suggest(f"t{i}") for i in range(6)]
    assert [g["run"]["variant"] if g else None for g in given_out] == ["a", "b", "a", "b", None, None]
    search.on_trial_complete("t1", {"fid": 1.0})  # a trial of b ends: b's slot, not a's
    assert search.suggest("t6")["run"]["variant"] == "b"


def test_the_searchers_state_survives_a_save_and_restore(tmp_path):
    def fresh():
        inner = {name: CountingSearcher() for name in ("a", "b")}
        return inner, SearchPerVariant(
            {n: ConcurrencyLimiter(inner[n], 2) for n in inner}, {n: {"variant": n} for n in inner}, 3
        )

    _, search = fresh()
    for i in range(4):
        search.suggest(f"t{i}")
    search.on_trial_complete("t0", {"fid": 1.0})
    search.save(str(tmp_path / "state.pkl"))
    inner, restored = fresh()
    restored.restore(str(tmp_path / "state.pkl"))
    assert restored.suggested == search.suggested and restored.variant_of == search.variant_of
    assert inner["a"].suggested == ["t0", "t2"] and inner["a"].completed == ["t0"]
    assert restored.searchers["a"].live_trials == {"t2"} and restored.searchers["b"].live_trials == {
        "t1",
        "t3",
    }
    assert restored.suggest("t4")["run"]["variant"] == "a" and restored.suggest("t5") is None


@st.composite
def sweeps_of_variants(draw):
    values = st.one_of(st.sampled_from([100.0, 200.0, 300.0, math.nan, SENTINEL]), st.floats(1, 2000))
    budget = draw(st.integers(2, 6))
    curves, variants = {}, {}
    for v in range(draw(st.integers(1, 4))):
        for t in range(draw(st.integers(1, 5))):
            curves[f"v{v}t{t}"] = draw(st.lists(values, min_size=budget, max_size=budget))
            variants[f"v{v}t{t}"] = f"v{v}"
    order = draw(st.permutations(list(curves)))  # trials of different variants interleaved
    return (
        {t: curves[t] for t in order},
        variants,
        budget,
        draw(st.integers(1, budget)),
        draw(st.integers(2, 4)),
        draw(st.integers(1, 8)),
        draw(st.integers(1, 3)),
    )


def healthy(curve) -> bool:
    return all(value == value and value < SENTINEL for value in curve)


@settings(max_examples=800, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=sweeps_of_variants())
def test_every_variant_with_a_healthy_trial_ends_with_a_finalist_while_sharing_the_slots(case):
    curves, variants, budget, grace, eta, slots, max_concurrent = case

    class Preset:  # the rungs in reports: one image a report
        max_training_images, grace_rounds, eval_every_images, reduction_factor = budget, grace, 1, eta

    # as the sweep builds it (sweeps.search.schedulers.make_scheduler): each variant KeepsAFinalist
    # around its rule
    scheduler = SchedulerPerVariant(
        {v: variant_rule("ray_asha", Preset) for v in sorted(set(variants.values()))}
    )
    reports = replay(
        scheduler,
        curves,
        slots,
        "training_images",
        cap=SENTINEL,
        variants=variants,
        max_concurrent=max_concurrent,
    )
    for variant in set(variants.values()):
        mine = [t for t in curves if variants[t] == variant]
        if any(healthy(curves[t]) for t in mine):
            assert any(reports[t] == budget and healthy(curves[t]) for t in mine), (variant, curves, reports)
    assert not any(s.paused for s in scheduler.schedulers.values())
