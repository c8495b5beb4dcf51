"""The registry's declarations agree with each other: every hyperparameter has an allowed range,
every default and every search space lies inside it, and resolve_config refuses what lies outside
in one line, without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganlib import registry
from ganlib.errors import ConfigError
from ganlib.space import OneOf, Range

SPECS = list(registry.VARIANTS.values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_hyperparameter_has_an_allowed_range(spec):
    assert set(spec.allowed) == set(spec.defaults), spec.name
    assert all(isinstance(allowed, (Range, OneOf)) for allowed in spec.allowed.values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_default_lies_in_its_allowed_range(spec):
    for name, value in spec.defaults.items():
        assert spec.allowed[name].contains(value), (spec.name, name, value, spec.allowed[name])
    assert registry.resolve_config(spec.name) == {**spec.defaults, "seed": 0}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_search_space_lies_inside_the_allowed_range(spec):
    for name, distribution in spec.search_space.items():
        allowed = spec.allowed[name]
        if isinstance(distribution, CategoricalDistribution):
            for value in distribution.choices:
                assert allowed.contains(value), (spec.name, name, value, allowed)
        else:
            assert isinstance(distribution, (FloatDistribution, IntDistribution))
            assert isinstance(allowed, Range), (spec.name, name, distribution, allowed)
            assert allowed.contains(distribution.low) and allowed.contains(distribution.high), (
                spec.name,
                name,
                distribution,
                allowed,
            )
            # an integer hyperparameter is searched over integers only
            assert not allowed.integer or isinstance(distribution, IntDistribution), (
                spec.name,
                name,
                distribution,
            )
        assert allowed.covers(distribution)


def test_loss_weights_are_strictly_positive_in_every_variant():
    for spec in SPECS:
        for name, allowed in spec.allowed.items():
            if name.endswith("_weight"):
                assert allowed.low == 0.0 and allowed.low_open, (spec.name, name, allowed)


def test_the_allowed_choices_are_the_builders_own():
    from ganlib.variants.gan import GENERATOR_LOSSES
    from ganlib.variants.lsgan import CODINGS

    assert set(registry.get("gan").allowed["generator_loss"].values) == set(GENERATOR_LOSSES)
    assert set(registry.get("lsgan").allowed["coding"].values) == set(CODINGS)


# One case per way a value can be wrong, across the kinds of allowed range; registry.build, since
# that is what a user calls, and it refuses before importing TensorFlow.
@pytest.mark.parametrize(
    "variant, overrides, words",
    [
        ("gan", {"g_lr": -1}, ["g_lr=-1 is not allowed", "(0.0, 1.0]"]),
        ("gan", {"d_lr": 0}, ["d_lr=0 is not allowed", "(0.0, 1.0]"]),  # the open end itself
        ("gan", {"dropout": 1.0}, ["dropout=1.0 is not allowed", "[0.0, 1.0)"]),
        ("stylegan", {"mixing_prob": 1.5}, ["mixing_prob=1.5 is not allowed", "[0.0, 1.0]"]),
        ("stylegan", {"r1_gamma": -1.0}, ["r1_gamma=-1.0 is not allowed", "[0.0, 1000.0]"]),
        ("acgan", {"class_weight": 0.0}, ["class_weight=0.0 is not allowed", "(0.0, 100.0]"]),
        ("lsgan", {"width": float("nan")}, ["width=nan is not allowed", "(0.0, 4.0]"]),
        ("dcgan", {"beta2": "0.9"}, ["beta2='0.9' is not allowed", "[0.0, 1.0)"]),
        ("wgan", {"n_critic": 0}, ["n_critic=0 is not allowed", "positive integer in [1, 100]"]),
        ("stylegan", {"mapping_depth": 9}, ["mapping_depth=9 is not allowed", "[1, 8]"]),
        # no upper bound: the allowed values are the positive integers
        ("gan", {"batch_size": 0}, ["batch_size=0 is not allowed", "positive integer"]),
        ("gan", {"batch_size": 2.5}, ["batch_size=2.5 is not allowed", "positive integer"]),
        ("wgan_gp", {"n_critic": 5.0}, ["n_critic=5.0 is not allowed", "positive integer in [1, 100]"]),
        ("stylegan", {"latent_dim": True}, ["latent_dim=True is not allowed", "[1, 1024]"]),
        (
            "gan",
            {"generator_loss": "hinge"},
            ["generator_loss='hinge' is not allowed", "choose one of non_saturating, minimax"],
        ),
        ("gan", {"n_critic": 5}, ["unknown hyperparameter(s) n_critic for variant 'gan'", "allowed are"]),
    ],
)
def test_bad_values_are_refused_in_one_line(variant, overrides, words):
    with pytest.raises(ConfigError) as error:
        registry.build(variant, overrides)
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_resolve_config_never_starts_tensorflow():
    script = (
        "import sys\n"
        "from ganlib import registry\n"
        "from ganlib.errors import ConfigError\n"
        "for name in registry.names():\n"
        "    registry.resolve_config(name)\n"
        "    registry.family(name)\n"
        "try:\n"
        "    registry.resolve_config('gan', {'g_lr': -1})\n"
        "except ConfigError:\n"
        "    pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "print('no tensorflow')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "no tensorflow" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_the_family_is_what_the_built_model_is(spec):
    from ganlib.base import ConditionalGAN
    from ganlib.sampling import is_conditional

    model = registry.build(spec.name, {"width": 0.125})  # tiny: only its class and inputs matter
    assert spec.conditional == isinstance(model, ConditionalGAN) == is_conditional(model.generator)
    assert registry.family(spec.name) == ("conditional" if spec.conditional else "unconditional")


def test_the_families_split_labelled_generators_from_the_rest():
    assert [name for name in registry.names() if registry.family(name) == "conditional"] == ["cgan", "acgan"]
    assert registry.family("infogan") == "unconditional"  # its codes are its own, not the labels
    with pytest.raises(ConfigError, match="unknown variant"):
        registry.family("nogan")


# the ganlib.losses function a discriminator (or critic) of each loss family trains on
LOSS_FUNCTIONS = {
    "cross-entropy": "minimax_discriminator_loss",
    "least squares": "least_squares_discriminator_loss",
    "hinge": "hinge_discriminator_loss",
    "wasserstein": "wasserstein_critic_loss",
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_the_loss_family_is_the_one_the_variants_module_trains_on(spec):
    """The report compares loss values only within a loss family: the family each entry states
    must be the loss its module's discriminator trains on."""
    import importlib
    import inspect

    module = importlib.import_module(spec.builder.split(":")[0])
    source = inspect.getsource(module)
    called = {family for family, name in LOSS_FUNCTIONS.items() if f"losses.{name}" in source}
    assert called == {spec.loss_family} and spec.loss_family in registry.LOSS_FAMILIES
