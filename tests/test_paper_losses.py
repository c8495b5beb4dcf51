"""Every variant's train_step against its paper's loss, on discriminator outputs known by hand.

The variant's discriminator is swapped for tests/paper_doubles.KnownDiscriminator and one step
runs eagerly on eight real digits; the losses the step reports must equal the paper's formula,
written out again here in numpy on what the double recorded. Then the pieces the losses rest on:
the gradient penalty at a placed interpolation point and R1 with non-linear discriminators,
`descend`'s simultaneous updates, and BiGAN's encoder update.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from paper_doubles import W0, C, Q, chunks_of, score_gradient, swap_in_doubles

from ganlib import losses, registry
from ganlib.data import to_unit_range

TINY = {"width": 0.25}
BATCH = 8
# Settings off the defaults where a default would hide a mistake: weights not 1, so a dropped or
# doubled weight shows; both codings and generator losses; several critic updates per step.
OPTIONS = {
    "gan": [{"generator_loss": "non_saturating"}, {"generator_loss": "minimax"}],
    "lsgan": [{"coding": "0-1"}, {"coding": "-1-1-0"}],
    "wgan": [{"n_critic": 1}],
    "wgan_gp": [{"n_critic": 1, "gp_weight": 7.0}, {"n_critic": 3, "gp_weight": 7.0}],
    "acgan": [{"class_weight": 0.7}],
    "infogan": [{"info_weight": 0.8, "continuous_weight": 0.3}],
    "stylegan": [{"r1_gamma": 3.0}],
}
CASES = [(name, options) for name in registry.names() for options in OPTIONS.get(name, [{}])]
CASE_IDS = ["-".join(map(str, [name, *options.values()])) for name, options in CASES]
# Which variants take G's loss from the forward pass D's loss came from (both updates at once), not
# through the D their step has just updated.
SIMULTANEOUS = {"gan", "bigan"}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def cross_entropy(labels, logits):
    log_softmax = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(log_softmax[np.arange(len(labels)), labels])


def minimax_d(real, fake):
    """Goodfellow et al.: D maximises log D(x) + log(1 - D(G(z)))."""
    return -np.mean(np.log(sigmoid(real))) - np.mean(np.log(1.0 - sigmoid(fake)))


def non_saturating_g(fake):
    return -np.mean(np.log(sigmoid(fake)))


def gradient_norms(chunk):
    return np.sqrt(np.sum(score_gradient(chunk.images, chunk.w) ** 2, axis=(1, 2, 3)))


def take(chunks, *kinds):
    """The step's discriminator calls, checked to be of these kinds in this order."""
    assert [c.kind for c in chunks] == list(kinds), [c.kind for c in chunks]
    return chunks


def last_critic_update(chunks, per_update, n_critic):
    """WGAN's Algorithm 1: n_critic critic updates (each `per_update` calls), then G's; the step
    reports the last critic update's loss. (its real chunk, its fake chunk, G's fake chunk)"""
    take(chunks, *(per_update * n_critic), "fake")
    return chunks[-1 - len(per_update)], chunks[-len(per_update)], chunks[-1]


def expect_gan(chunks, options, real_labels):
    real, fake = take(chunks, "real", "fake")
    if options["generator_loss"] == "minimax":
        g_loss = np.mean(np.log(1.0 - sigmoid(fake.outputs[0])))  # G minimises log(1 - D(G(z)))
    else:
        g_loss = non_saturating_g(fake.outputs[0])
    return {"d_loss": minimax_d(real.outputs[0], fake.outputs[0]), "g_loss": g_loss}, fake


def expect_dcgan(chunks, options, real_labels):
    real, fake, g_fake = take(chunks, "real", "fake", "fake")
    d_loss = minimax_d(real.outputs[0], fake.outputs[0])
    return {"d_loss": d_loss, "g_loss": non_saturating_g(g_fake.outputs[0])}, g_fake


def expect_cgan(chunks, options, real_labels):
    real, fake, g_fake = take(chunks, "real", "fake", "fake")
    # reals judged with their own labels, fakes with the labels G drew them for
    np.testing.assert_array_equal(real.extra, real_labels)
    np.testing.assert_array_equal(fake.extra, fake.generator_inputs[1])
    np.testing.assert_array_equal(g_fake.extra, g_fake.generator_inputs[1])
    return expect_dcgan(chunks, options, real_labels)


def expect_lsgan(chunks, options, real_labels):
    # Mao et al., eq. (2): a codes fake and b real for D, c is what G wants D to say
    a, b, c = {"0-1": (0.0, 1.0, 1.0), "-1-1-0": (-1.0, 1.0, 0.0)}[options["coding"]]
    real, fake, g_fake = (chunk.outputs[0] for chunk in take(chunks, "real", "fake", "fake"))
    d_loss = 0.5 * np.mean((real - b) ** 2) + 0.5 * np.mean((fake - a) ** 2)
    return {"d_loss": d_loss, "g_loss": 0.5 * np.mean((g_fake - c) ** 2)}, chunks[2]


def expect_sngan(chunks, options, real_labels):
    real, fake, g_fake = (chunk.outputs[0] for chunk in take(chunks, "real", "fake", "fake"))
    # Miyato et al. (16)-(17): hinges on D, -E[D(G(z))] for G
    d_loss = np.mean(np.maximum(0.0, 1.0 - real)) + np.mean(np.maximum(0.0, 1.0 + fake))
    return {"d_loss": d_loss, "g_loss": -np.mean(g_fake)}, chunks[2]


def expect_wgan(chunks, options, real_labels):
    real, fake, g_fake = last_critic_update(chunks, ("real", "fake"), options["n_critic"])
    estimate = np.mean(real.outputs[0]) - np.mean(fake.outputs[0])
    g_loss = -np.mean(g_fake.outputs[0])
    return {"d_loss": -estimate, "g_loss": g_loss, "wasserstein_estimate": estimate}, g_fake


def expect_wgan_gp(chunks, options, real_labels):
    real, fake, g_fake = last_critic_update(chunks, ("real", "fake", "other"), options["n_critic"])
    between = chunks[-2]
    # x_hat = eps x + (1 - eps) G(z), one eps ~ U[0, 1] per sample: recover eps, check the rest
    direction = (real.images - fake.images).reshape(BATCH, -1)
    offset = (between.images - fake.images).reshape(BATCH, -1)
    eps = np.sum(offset * direction, axis=1) / np.sum(direction**2, axis=1)
    placed = eps[:, None, None, None] * real.images + (1 - eps[:, None, None, None]) * fake.images
    np.testing.assert_allclose(between.images, placed, atol=1e-5)
    assert np.all((eps >= 0) & (eps <= 1)) and np.std(eps) > 0.05, eps
    penalty = np.mean((gradient_norms(between) - 1.0) ** 2)
    estimate = np.mean(real.outputs[0]) - np.mean(fake.outputs[0])
    expected = {"d_loss": -estimate + options["gp_weight"] * penalty, "g_loss": -np.mean(g_fake.outputs[0])}
    return {**expected, "gradient_penalty": penalty, "wasserstein_estimate": estimate}, g_fake


def expect_acgan(chunks, options, real_labels):
    real, fake, g_fake = take(chunks, "real", "fake", "fake")
    fake_labels = fake.generator_inputs[1]
    weight = options["class_weight"]
    # D maximises L_S + L_C; G maximises L_C - L_S, its -L_S non-saturating
    d_loss = minimax_d(real.outputs[0], fake.outputs[0]) + weight * (
        cross_entropy(real_labels, real.outputs[1]) + cross_entropy(fake_labels, fake.outputs[1])
    )
    g_loss = non_saturating_g(g_fake.outputs[0]) + weight * cross_entropy(fake_labels, g_fake.outputs[1])
    return {"d_loss": d_loss, "g_loss": g_loss}, g_fake


def expect_infogan(chunks, options, real_labels):
    real, fake, g_fake = take(chunks, "real", "fake", "fake")

    def information(chunk):
        """-L_I: the category's cross-entropy, the continuous codes' unit-variance Gaussian NLL."""
        _, category, continuous = chunk.generator_inputs
        _, category_logits, means = chunk.outputs
        gaussian = 0.5 * np.mean(np.sum((means - continuous) ** 2, axis=1))
        return cross_entropy(category, category_logits) + options["continuous_weight"] * gaussian

    weight = options["info_weight"]
    d_loss = minimax_d(real.outputs[0], fake.outputs[0]) + weight * information(fake)
    g_loss = non_saturating_g(g_fake.outputs[0]) + weight * information(g_fake)
    return {"d_loss": d_loss, "g_loss": g_loss, "info_loss": information(g_fake)}, g_fake


def expect_bigan(chunks, options, real_labels):
    real, fake = take(chunks, "real", "fake")
    np.testing.assert_array_equal(fake.extra, fake.generator_inputs[0])  # D sees (G(z), z)
    r, f = real.outputs[0], fake.outputs[0]
    # min_{G,E} max_D E[log D(x, E(x))] + E[log(1 - D(G(z), z))]; G and E on the inverted labels
    ge_loss = -np.mean(np.log(sigmoid(f))) - np.mean(np.log(1.0 - sigmoid(r)))
    return {"d_loss": minimax_d(r, f), "g_loss": ge_loss}, fake


def expect_stylegan(chunks, options, real_labels):
    # the third call is R1's, on real data only
    real, fake, r1_real, g_fake = take(chunks, "real", "fake", "real", "fake")
    r1 = np.mean(gradient_norms(r1_real) ** 2)
    d_loss = minimax_d(real.outputs[0], fake.outputs[0]) + options["r1_gamma"] / 2 * r1
    return {"d_loss": d_loss, "g_loss": non_saturating_g(g_fake.outputs[0]), "r1_penalty": r1}, g_fake


EXPECTED = {
    "gan": expect_gan,
    "dcgan": expect_dcgan,
    "cgan": expect_cgan,
    "lsgan": expect_lsgan,
    "sngan": expect_sngan,
    "wgan": expect_wgan,
    "wgan_gp": expect_wgan_gp,
    "acgan": expect_acgan,
    "infogan": expect_infogan,
    "bigan": expect_bigan,
    "stylegan": expect_stylegan,
}


@pytest.fixture(scope="module")
def real_batch(small_digits):
    # enough rows for three critic updates
    chosen = np.random.default_rng(0).choice(len(small_digits), 3 * BATCH, replace=False)
    return to_unit_range(small_digits.images[chosen]), small_digits.labels[chosen].astype(np.int32)


def one_step(variant, options, real_batch):
    model, drawer = swap_in_doubles(registry.build(variant, {**TINY, **options}, seed=0))
    rows = BATCH * model.real_batches_per_step
    images, labels = real_batch[0][:rows], real_batch[1][:rows]
    logs = model.train_step((tf.constant(images), tf.constant(labels)))
    real_batches = np.split(images, model.real_batches_per_step)
    chunks = chunks_of(model.discriminator, drawer, real_batches)
    return model, {k: float(v) for k, v in logs.items()}, chunks, labels


@pytest.mark.parametrize("variant, options", CASES, ids=CASE_IDS)
def test_train_step_reports_its_papers_losses(variant, options, real_batch):
    assert variant in EXPECTED, f"no paper formula written here for variant {variant!r}"
    _, logs, chunks, labels = one_step(variant, options, real_batch)
    expected, g_chunk = EXPECTED[variant](chunks, options, labels[:BATCH])
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, logs[name], value)
    # D's loss is taken at the weights before its update; G's through the updated D, unless simultaneous
    assert chunks[0].w == W0
    assert (g_chunk.w == W0) == (variant in SIMULTANEOUS), (g_chunk.w, W0)


# ---- the penalties with non-linear discriminators --------------------------------------------


def squares_critic(images, training=False):
    """D(x) = sum(x^2): grad 2x, so the gradient's norm tells where it was taken."""
    return tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]


def test_gradient_penalty_is_taken_at_the_placed_interpolation_point():
    real, fake = tf.ones((4, 2, 2, 1)), tf.zeros((4, 2, 2, 1))
    alpha = tf.constant([0.0, 0.25, 0.5, 1.0], shape=(4, 1, 1, 1))
    # x_hat = alpha * 1 + (1 - alpha) * 0 = alpha on each of 4 pixels: ||grad|| = 2 ||x_hat|| = 4 alpha
    # = 0, 1, 2, 4, so the penalty is ((0-1)^2 + 0 + (2-1)^2 + (4-1)^2) / 4 = 11 / 4
    penalty = losses.gradient_penalty(squares_critic, real, fake, alpha=alpha)
    assert float(penalty) == pytest.approx(2.75, rel=1e-5)


def cubes_discriminator(images, training=False):
    """D(x) = sum(x^3) / 3: grad x^2, so ||grad||^2 = sum(x^4)."""
    return tf.reduce_sum(images**3, axis=[1, 2, 3])[:, None] / 3.0


def test_r1_is_the_mean_squared_gradient_norm_at_the_real_points():
    real = tf.constant([[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 2.0, 0.0]], shape=(2, 2, 2, 1))
    # sum(x^4) per sample: 4 and 1 + 1 + 16 + 0 = 18; their mean 11
    assert float(losses.r1_penalty(cubes_discriminator, real)) == pytest.approx(11.0, rel=1e-6)


# ---- descend ---------------------------------------------------------------------------------


def test_descend_takes_every_gradient_before_it_applies_any_step():
    a, b = keras.Variable(1.0), keras.Variable(2.0)

    # x * a whose backward reads a again when the gradient is taken, so it tells whether a had
    # already been stepped (a backward reusing the forward's values could not tell)
    @tf.custom_gradient
    def times_a(x, a_value):
        return x * a_value, lambda dy: (dy * tf.convert_to_tensor(a), dy * x)

    first, second = keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0)
    first.build([a])
    second.build([b])
    with tf.GradientTape() as first_tape, tf.GradientTape() as second_tape:
        first_loss = a * b  # d/da = b = 2: a steps to -1
        second_loss = times_a(tf.convert_to_tensor(b), tf.convert_to_tensor(a))  # d/db = a = 1: b to 1
    model = registry.build("gan", TINY)
    model.descend((first_tape, first_loss, [a], first), (second_tape, second_loss, [b], second))
    assert (float(a), float(b)) == (-1.0, 1.0)  # b would be 3 had a stepped first


# ---- BiGAN's encoder -------------------------------------------------------------------------


def test_bigan_step_moves_the_encoder_down_its_loss(real_batch):
    model, _ = swap_in_doubles(registry.build("bigan", TINY, seed=0))
    images = real_batch[0][:BATCH]
    before = [np.array(w) for w in model.encoder.trainable_weights]
    # D's score of the real images without the code term, and its code weights, before the step
    scores = W0 * images.mean(axis=(1, 2, 3)) + Q * (np.mean(images**2, axis=(1, 2, 3)) - C)
    v = np.array(model.discriminator.v, np.float64)

    def encoder_term():
        """E's share of the G/E loss, -E_x log(1 - D(x, E(x))), at D's weights before the step."""
        codes = np.asarray(model.encoder(images, training=True), np.float64)
        return -np.mean(np.log(1.0 - sigmoid(scores + codes @ v)))

    loss_before = encoder_term()
    model.train_step((tf.constant(images), tf.constant(real_batch[1][:BATCH])))
    after = [np.array(w) for w in model.encoder.trainable_weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))
    assert encoder_term() < loss_before
