"""ACGAN (Odena, Olah and Shlens 2017, arXiv 1610.09585): G(z, c); D(x) gives a source logit and
class logits. With L_S the log-likelihood of the right source and L_C of the right class,

    D maximises L_S + L_C,    G maximises L_C - L_S

(G's -L_S in its non-saturating form). `class_weight` scales L_C in both objectives.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import ConditionalGAN, compile_with_adam
from ganlib.blocks import conditional_generator, dcgan_init, discriminator_body
from ganlib.data import NUM_CLASSES


def class_loss(labels, class_logits):
    """-L_C: cross-entropy of the intended class."""
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32)
        )
    )


def auxiliary_discriminator(width: float) -> keras.Model:
    images = keras.Input((28, 28, 1))
    features = discriminator_body(width)(images)
    source = layers.Dense(1, kernel_initializer=dcgan_init(), name="source")(features)
    classes = layers.Dense(NUM_CLASSES, kernel_initializer=dcgan_init(), name="classes")(features)
    return keras.Model(images, [source, classes], name="discriminator")


class ACGAN(ConditionalGAN):
    def __init__(self, generator, discriminator, latent_dim, class_weight: float, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.class_weight = float(class_weight)
        self.class_accuracy_tracker = self.add_tracker("d_class_acc_real")

    def train_step(self, data):
        real_images, real_labels = data
        batch_size = tf.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_labels = self.sample_labels(batch_size)
        with tf.GradientTape() as d_tape:
            fake_images = self.generator([latents, fake_labels], training=True)
            real_source, real_classes = self.discriminator(real_images, training=True)
            fake_source, fake_classes = self.discriminator(fake_images, training=True)
            source_loss = losses.minimax_discriminator_loss(real_source, fake_source)
            classification = class_loss(real_labels, real_classes) + class_loss(fake_labels, fake_classes)
            d_loss = source_loss + self.class_weight * classification
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            fake_source, fake_classes = self.discriminator(
                self.generator([latents, fake_labels], training=True), training=True
            )
            g_loss = losses.non_saturating_generator_loss(fake_source) + self.class_weight * class_loss(
                fake_labels, fake_classes
            )
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        real_class_accuracy = tf.reduce_mean(
            tf.cast(
                tf.argmax(real_classes, axis=1, output_type=tf.int32) == tf.cast(real_labels, tf.int32),
                tf.float32,
            )
        )
        return self.track(d_loss, g_loss, real_source, fake_source, d_class_acc_real=real_class_accuracy)


def build(config: dict) -> ACGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = ACGAN(
        conditional_generator(config["latent_dim"], config["width"]),
        auxiliary_discriminator(config["width"]),
        config["latent_dim"],
        class_weight=config["class_weight"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
