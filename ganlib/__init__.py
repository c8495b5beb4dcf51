"""ganlib: GAN variants on MNIST as keras.Model subclasses, their evaluation and export."""

__version__ = "0.1.0"

import os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU-feature notes) buries the progress bar on a
# CPU machine; users who want it set TF_CPP_MIN_LOG_LEVEL themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
