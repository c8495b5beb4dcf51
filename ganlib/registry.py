"""The one place that names the variants: builder, paper defaults, allowed ranges and search space
for each.

Adding a variant means writing its module under `ganlib/variants/` and one `VariantSpec` here.
Builders are imported lazily, so reading the registry (as the sweep driver does) never starts
TensorFlow. `resolve_config` checks every value against the variant's `allowed` ranges, so a bad
hyperparameter is refused in one line before any model is built or any sweep trial starts; the
builders take configs that went through it and check nothing again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganlib.errors import ConfigError
from ganlib.space import Allowed, Distribution, OneOf, Range

# Hyperparameters every variant has; `width` scales every layer's channels (1.0 = the paper's);
# `ema_half_life`: an exponential moving average of the generator's weights, its half-life in
# generated images (0: none), scored beside the raw generator (ganlib.base.ema_momentum).
COMMON_DEFAULTS = {"latent_dim": 100, "batch_size": 128, "width": 1.0, "ema_half_life": 0}

# What the shared hyperparameters may be (the betas: every variant that trains with Adam).
COMMON_ALLOWED: dict[str, Allowed] = {
    "latent_dim": Range(1, 1024, integer=True),
    "batch_size": Range(1, integer=True),
    "width": Range(0.0, 4.0, low_open=True),
    "ema_half_life": Range(0, integer=True),
    "g_lr": Range(0.0, 1.0, low_open=True),
    "d_lr": Range(0.0, 1.0, low_open=True),
    "beta1": Range(0.0, 1.0, high_open=True),
    "beta2": Range(0.0, 1.0, high_open=True),
}
DROPOUT = Range(0.0, 1.0, high_open=True)
N_CRITIC = Range(1, 100, integer=True)
# Weights of a variant's extra loss terms: strictly positive (a zero weight would silently train
# another variant), at most 100.
LOSS_WEIGHT = Range(0.0, 100.0, low_open=True)

# What may change in the middle of a run (Population Based Training mutates these): optimizer
# settings and loss weights, which a state saved under other values trains on with. The rest
# shapes the networks or the batch, so a run keeps it from start to end.
MUTABLE = frozenset(
    {
        "g_lr",
        "d_lr",
        "beta1",
        "n_critic",
        "clip_value",
        "gp_weight",
        "class_weight",
        "info_weight",
        "continuous_weight",
        "mixing_prob",
        "r1_gamma",
    }
)


@dataclass(frozen=True)
class VariantSpec:
    name: str
    builder: str  # "module:function", imported on first use
    paper: str
    defaults: dict
    # every hyperparameter in `defaults` -> the values it may take; resolve_config checks them
    allowed: dict[str, Allowed] = field(default_factory=dict)
    search_space: dict[str, Distribution] = field(default_factory=dict)
    # the generator is handed the digit to draw (its model a ganlib.base.ConditionalGAN): such a
    # variant is compared only with others that get labels, since knowing the class is an advantage
    # the unconditional ones do not have (InfoGAN learns its own codes: unconditional)
    conditional: bool = False
    # the loss its discriminator and generator train on (LOSS_FAMILIES): loss values, and how much
    # they move, only compare within one family (a BCE, a least-squares and a Wasserstein loss
    # live on different scales)
    loss_family: str = "cross-entropy"

    def build_function(self) -> Callable:
        module_name, function_name = self.builder.split(":")
        return getattr(importlib.import_module(module_name), function_name)


ADAM_LR = FloatDistribution(1e-5, 1e-3, log=True)
# Equalised layers keep weights at unit scale, so the same step moves them ~30x less than a
# He-initialised layer's: ProGAN, where equalised layers come from, trains at 0.001 with betas
# (0, 0.99) (Karras et al. 2018, appendix A.1), and StyleGAN keeps those settings.
EQUALIZED_ADAM_LR = FloatDistribution(1e-4, 1e-2, log=True)
LATENT_DIM = CategoricalDistribution((32, 64, 100, 128))

VARIANTS: dict[str, VariantSpec] = {
    spec.name: spec
    for spec in [
        VariantSpec(
            name="gan",
            builder="ganlib.variants.gan:build",
            paper="Goodfellow et al. 2014, with the seed paper's networks (TensorFlow DCGAN tutorial)",
            defaults={
                **COMMON_DEFAULTS,
                "g_lr": 1e-4,
                "d_lr": 1e-4,
                "beta1": 0.9,
                "beta2": 0.999,
                "dropout": 0.3,
                "generator_loss": "non_saturating",
            },
            allowed={
                **COMMON_ALLOWED,
                "dropout": DROPOUT,
                "generator_loss": OneOf(
                    ("non_saturating", "minimax")
                ),  # ganlib.variants.gan.GENERATOR_LOSSES
            },
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.95),
                "latent_dim": LATENT_DIM,
                "dropout": FloatDistribution(0.0, 0.5),
            },
        ),
        VariantSpec(
            name="dcgan",
            builder="ganlib.variants.dcgan:build",
            paper="Radford, Metz and Chintala 2016 (arXiv 1511.06434)",
            defaults={**COMMON_DEFAULTS, "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999},
            allowed=COMMON_ALLOWED,
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "latent_dim": LATENT_DIM,
                "batch_size": CategoricalDistribution((64, 128)),
            },
        ),
        VariantSpec(
            name="wgan",
            loss_family="wasserstein",
            builder="ganlib.variants.wgan:build",
            paper="Arjovsky, Chintala and Bottou 2017 (arXiv 1701.07875), Algorithm 1",
            defaults={
                **COMMON_DEFAULTS,
                "batch_size": 64,
                "g_lr": 5e-5,
                "d_lr": 5e-5,
                "n_critic": 5,
                "clip_value": 0.01,
            },
            allowed={
                **{
                    k: v for k, v in COMMON_ALLOWED.items() if k not in ("beta1", "beta2")
                },  # RMSProp: no betas
                "n_critic": N_CRITIC,
                "clip_value": Range(0.0, 1.0, low_open=True),
            },
            search_space={
                "g_lr": FloatDistribution(1e-5, 5e-4, log=True),
                "d_lr": FloatDistribution(1e-5, 5e-4, log=True),
                "n_critic": IntDistribution(1, 10),
                "clip_value": FloatDistribution(0.001, 0.1, log=True),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="wgan_gp",
            loss_family="wasserstein",
            builder="ganlib.variants.wgan_gp:build",
            paper="Gulrajani et al. 2017 (arXiv 1704.00028), Algorithm 1",
            defaults={
                **COMMON_DEFAULTS,
                "batch_size": 64,
                "g_lr": 1e-4,
                "d_lr": 1e-4,
                "beta1": 0.0,
                "beta2": 0.9,
                "n_critic": 5,
                "gp_weight": 10.0,
            },
            allowed={**COMMON_ALLOWED, "n_critic": N_CRITIC, "gp_weight": Range(0.0, 1000.0, low_open=True)},
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": CategoricalDistribution((0.0, 0.5)),
                "n_critic": IntDistribution(1, 10),
                "gp_weight": FloatDistribution(0.1, 100.0, log=True),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="lsgan",
            loss_family="least squares",
            builder="ganlib.variants.lsgan:build",
            paper="Mao et al. 2017 (arXiv 1611.04076), eq. (2) with the 0-1 coding",
            defaults={
                **COMMON_DEFAULTS,
                "g_lr": 2e-4,
                "d_lr": 2e-4,
                "beta1": 0.5,
                "beta2": 0.999,
                "coding": "0-1",
            },
            allowed={**COMMON_ALLOWED, "coding": OneOf(("0-1", "-1-1-0"))},  # ganlib.variants.lsgan.CODINGS
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "coding": CategoricalDistribution(("0-1", "-1-1-0")),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="sngan",
            loss_family="hinge",
            builder="ganlib.variants.sngan:build",
            paper="Miyato et al. 2018 (arXiv 1802.05957), hinge loss (16)-(17), Table 1 setting C, n_dis 1",
            # Setting C (Radford et al.'s Adam, as dcgan): why, in ganlib/variants/sngan.py's docstring.
            defaults={**COMMON_DEFAULTS, "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999},
            allowed=COMMON_ALLOWED,
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="cgan",
            builder="ganlib.variants.cgan:build",
            conditional=True,
            paper="Mirza and Osindero 2014 (arXiv 1411.1784), on DCGAN networks",
            defaults={**COMMON_DEFAULTS, "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999},
            allowed=COMMON_ALLOWED,
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="acgan",
            builder="ganlib.variants.acgan:build",
            conditional=True,
            paper="Odena, Olah and Shlens 2017 (arXiv 1610.09585)",
            defaults={
                **COMMON_DEFAULTS,
                "g_lr": 2e-4,
                "d_lr": 2e-4,
                "beta1": 0.5,
                "beta2": 0.999,
                "class_weight": 1.0,
            },
            allowed={**COMMON_ALLOWED, "class_weight": LOSS_WEIGHT},
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "class_weight": FloatDistribution(0.1, 10.0, log=True),
                "latent_dim": LATENT_DIM,
            },
        ),
        VariantSpec(
            name="infogan",
            builder="ganlib.variants.infogan:build",
            paper=(
                "Chen et al. 2016 (arXiv 1606.03657): 62 noise dims, "
                "1 categorical (10) and 2 continuous codes"
            ),
            defaults={
                **COMMON_DEFAULTS,
                "latent_dim": 62,
                "g_lr": 1e-3,
                "d_lr": 2e-4,
                "beta1": 0.5,
                "beta2": 0.999,
                "info_weight": 1.0,
                "continuous_weight": 0.1,
            },
            allowed={**COMMON_ALLOWED, "info_weight": LOSS_WEIGHT, "continuous_weight": LOSS_WEIGHT},
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "info_weight": FloatDistribution(0.1, 10.0, log=True),
                "continuous_weight": FloatDistribution(0.01, 1.0, log=True),
            },
        ),
        VariantSpec(
            name="bigan",
            builder="ganlib.variants.bigan:build",
            paper="Donahue, Kraehenbuehl and Darrell 2017 (arXiv 1605.09782)",
            defaults={
                **COMMON_DEFAULTS,
                "latent_dim": 50,
                "g_lr": 2e-4,
                "d_lr": 2e-4,
                "beta1": 0.5,
                "beta2": 0.999,
                "dropout": 0.2,
            },
            allowed={**COMMON_ALLOWED, "dropout": DROPOUT},
            search_space={
                "g_lr": ADAM_LR,
                "d_lr": ADAM_LR,
                "beta1": FloatDistribution(0.0, 0.9),
                "dropout": FloatDistribution(0.0, 0.5),
                "latent_dim": CategoricalDistribution((32, 50, 64, 100)),
            },
        ),
        VariantSpec(
            name="stylegan",
            builder="ganlib.variants.stylegan:build",
            paper="Karras, Laine and Aila 2019 (arXiv 1812.04948), sized for 28x28",
            defaults={
                **COMMON_DEFAULTS,
                "latent_dim": 64,
                # D 4x faster than G (TTUR, Heusel et al. 2017) and gamma 1, not FFHQ's 10: with
                # 1e-3 / 1e-3 and gamma 10 the discriminator stayed at chance on 28x28 digits and
                # the generator collapsed to one shape (benchmarks/README.md has the figures).
                "g_lr": 1e-3,
                "d_lr": 4e-3,
                "beta1": 0.0,
                "beta2": 0.99,
                "style_dim": 64,
                "mapping_depth": 4,
                "mixing_prob": 0.9,
                "r1_gamma": 1.0,
            },
            allowed={
                **COMMON_ALLOWED,
                "style_dim": Range(1, 1024, integer=True),
                "mapping_depth": Range(1, 8, integer=True),
                "mixing_prob": Range(0.0, 1.0),
                "r1_gamma": Range(0.0, 1000.0),  # 0: no R1 penalty, an ablation worth allowing
            },
            search_space={
                "g_lr": EQUALIZED_ADAM_LR,
                "d_lr": EQUALIZED_ADAM_LR,
                "style_dim": CategoricalDistribution((32, 64, 128)),
                "mapping_depth": IntDistribution(1, 8),
                "mixing_prob": FloatDistribution(0.0, 1.0),
                "r1_gamma": FloatDistribution(0.1, 100.0, log=True),
                "latent_dim": CategoricalDistribution((32, 64, 128)),
            },
        ),
    ]
}


def names() -> list[str]:
    return list(VARIANTS)


def get(name: str) -> VariantSpec:
    if name not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}: choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


# the order in which tables and findings show the two families
FAMILIES = ("unconditional", "conditional")
LOSS_FAMILIES = ("cross-entropy", "least squares", "hinge", "wasserstein")


def family(name: str) -> str:
    """The variants `name` is ranked and tested among: "conditional" or "unconditional"."""
    return "conditional" if get(name).conditional else "unconditional"


def resolve_config(name: str, overrides: dict | None = None, seed: int = 0) -> dict:
    """The variant's paper defaults with `overrides` laid over them; unknown keys, and values
    outside the variant's `allowed` ranges (or of the wrong type), are refused in one line."""
    spec = get(name)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.defaults) - {"seed"})
    if unknown:
        raise ConfigError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for variant {name!r}: "
            f"allowed are {', '.join(sorted(spec.defaults))}"
        )
    config = {**spec.defaults, "seed": seed, **overrides}
    for key, value in config.items():
        if key != "seed":
            spec.allowed[key].check(key, value)
    return config


def build(name: str, overrides: dict | None = None, seed: int = 0):
    """A compiled model of variant `name`, ready for `fit`."""
    config = resolve_config(name, overrides, seed)
    return get(name).build_function()(config)
