"""Sweep budgets: how many trials, how long each may train, how big the models are.

Time is counted in training images (what ASHA's rungs are measured in), so a budget means the
same on a laptop and on a GPU cluster; only the wall time differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ganlib.errors import ConfigError, check_positive, check_range


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    num_samples: int  # trials per variant
    max_concurrent: int  # per variant; small enough that TPE learns between suggestions
    tpe_startup_trials: int  # random trials before TPE models the results
    eval_every_images: int  # a report (FID + checkpoint) after this many training images
    max_rounds: int  # reports per trial: the budget is max_rounds * eval_every_images
    grace_rounds: int  # ASHA: no trial is stopped before this many reports
    reduction_factor: int  # ASHA: keep the best 1/eta at each rung
    eval_samples: int  # samples for the FID at each report
    final_eval_samples: int  # samples for the full evaluation of every trial that runs its whole budget
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    # host memory Ray reserves for a trial (its `memory` resource), so no node takes more trials
    # than fit; and the GPU memory a whole card offers, a trial capped at its fraction of it
    memory_per_trial_mb: int | None = None
    gpu_memory_mb: int | None = None
    per_class: int | None = None  # train on a class-balanced subset (smoke runs)
    fixed: dict = field(default_factory=dict)  # hyperparameters every trial shares (model width)
    # the final stage (sweeps/study/final_stage.py): best config and papers' defaults retrained with this
    # many seeds, at final_rounds reports each (0 seeds: no final stage)
    final_seeds: int = 0
    final_rounds: int = 0
    # a report of the final stage every this many images (None: eval_every_images), so that a
    # long final stage can score every epoch on 10,000 samples without scoring every search round
    final_eval_every_images: int | None = None
    # the budget ladder (#30): longer budgets in final-stage rounds, the first for every variant, each
    # later one for the best `ladder_top` of each family by the previous budget's median FID; each
    # continues the first `ladder_seeds` seeds' runs, so every budget's answer comes from the same runs
    ladder: tuple[int, ...] = ()
    ladder_seeds: int = 0
    ladder_top: tuple[tuple[str, int], ...] = ()
    defaults_seeds: int | None = None  # the papers' defaults arm's seeds (None: final_seeds)
    # the final stage keeps an average of each generator's weights with this half-life in images
    # (config ema_half_life) and scores it beside the weights at every budget; 0: none
    final_ema_half_life: int = 0
    # the final stage's CAS for unconditional generators too, on the labels the evaluator gives their
    # samples (a classifier trained a run: tens of seconds)
    final_evaluator_cas: bool = False

    @property
    def max_training_images(self) -> int:
        return self.max_rounds * self.eval_every_images

    def to_dict(self) -> dict:
        return asdict(self)


CPU = Preset(
    name="cpu",
    description="about four hours on 2 CPU cores: half-width models, full MNIST, 6 trials a variant, "
    "then the final stage (3 seeds)",
    num_samples=6,
    max_concurrent=2,
    tpe_startup_trials=3,
    eval_every_images=12_800,
    max_rounds=6,
    grace_rounds=2,
    reduction_factor=3,
    eval_samples=2000,
    final_eval_samples=10_000,
    fixed={"width": 0.5},
    final_seeds=3,
    # 102,400 images (2 passes over the 50,000 training digits), 4/3 of a search trial's budget
    final_rounds=8,
)

# the cpu preset with a search long enough for TPE to model (12 trials) and a final stage that can
# tell variants apart (seeds, the ladder, EMA), at quarter width to fit the machine; the rest stays
# the cpu preset's
STUDY = replace(
    CPU,
    name="study",
    description="the study behind docs/results/cpu on 2 CPU cores, in parts with --resume: "
    "quarter-width models, 12 trials a variant, then 10 seeds at 102,400 images, 6 of them to "
    "10 epochs and the best of each family to 30",
    num_samples=12,
    # half width needed about 28 hours on this machine for the whole ladder; quarter width trains
    # 2.4-3.4x faster a step (benchmarks/README.md), which brings the study near the 8-10 hours
    # it was planned for
    fixed={"width": 0.25},
    tpe_startup_trials=4,
    final_seeds=10,
    final_eval_every_images=51_200,  # an epoch of the 50,000 training digits, rounded up
    final_rounds=2,  # 102,400 images, the cpu preset's final budget
    ladder=(10, 30),  # 512,000 and 1,536,000 images: 10 and 30 epochs
    ladder_seeds=6,
    ladder_top=(("conditional", 1), ("unconditional", 2)),
    defaults_seeds=6,
    final_ema_half_life=10_000,  # Karras et al. 2019's 10k images
    final_evaluator_cas=True,
)

PRESETS = {
    preset.name: preset
    for preset in [
        Preset(
            name="smoke",
            description="minutes on 2 CPU cores: quarter-width models, 1,000 training digits, "
            "3 trials a variant",
            num_samples=3,
            max_concurrent=2,
            tpe_startup_trials=2,
            eval_every_images=1600,
            max_rounds=4,
            grace_rounds=1,
            reduction_factor=2,
            eval_samples=1000,
            final_eval_samples=2000,
            per_class=100,
            fixed={"width": 0.25, "batch_size": 32},
        ),
        CPU,
        STUDY,
        Preset(
            name="gpu",
            description="a GPU cluster: full-size models, 30 epochs a trial, 32 trials a variant, "
            "4 trials per GPU",
            num_samples=32,
            max_concurrent=8,
            tpe_startup_trials=8,
            eval_every_images=60_000,
            max_rounds=30,
            grace_rounds=3,
            reduction_factor=3,
            eval_samples=5000,
            final_eval_samples=10_000,
            # g5.2xlarge: 8 vCPUs, 32 GiB and one A10G (24 GB) for 4 trials (docs/cloud.md: the
            # largest trial's peak on the CPU plus TensorFlow's CUDA libraries, estimated)
            cpus_per_trial=2.0,
            gpus_per_trial=0.25,
            memory_per_trial_mb=6144,
            gpu_memory_mb=22_000,  # of the A10G's 23,028 MiB: room for four CUDA contexts
            fixed={"width": 1.0},
            final_seeds=3,
            final_rounds=60,  # 60 epochs, twice a search trial's budget
        ),
    ]
}


def get(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def with_rungs(
    preset: Preset,
    max_rounds: int | None = None,
    grace_rounds: int | None = None,
    reduction_factor: int | None = None,
) -> Preset:
    """The preset with its trial budget or ASHA's rungs changed; None keeps the preset's value."""
    max_rounds = preset.max_rounds if max_rounds is None else max_rounds
    grace_rounds = preset.grace_rounds if grace_rounds is None else grace_rounds
    reduction_factor = preset.reduction_factor if reduction_factor is None else reduction_factor
    check_positive("--max-rounds", max_rounds, integer=True)
    check_positive("--grace-rounds", grace_rounds, integer=True)
    check_range("--grace-rounds", grace_rounds, 1, max_rounds)
    check_positive("--reduction-factor", reduction_factor, integer=True)
    check_range("--reduction-factor", reduction_factor, 2, 100)
    return replace(
        preset, max_rounds=max_rounds, grace_rounds=grace_rounds, reduction_factor=reduction_factor
    )
