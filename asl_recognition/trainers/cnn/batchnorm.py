"""Re-estimate batch-norm statistics on the unaugmented training images after training.

During training every batch-norm layer keeps an exponential moving average of the mean and
variance of its inputs over the last ~100 *augmented* batches (Keras' momentum 0.99), computed
while the weights were still changing. At inference the network sees unaugmented images with
the final weights, so those averages are stale and describe the wrong distribution
(brightness/contrast jitter widens them). "Precise BN" (Wu & Johnson, *Rethinking "Batch" in
BatchNorm*, 2021) replaces them with the exact population statistics of the inference
distribution under the final weights: layer by layer, in graph order, because each layer's inputs
depend on the already re-estimated layers before it.

The gain on Sign Language MNIST is measured in ``docs/cnn.md``. The library re-estimates on a
seeded sample of at most 10,000 images: one forward pass per batch-norm layer.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["recalibrate_batch_norm"]


def recalibrate_batch_norm(
    keras: Any,
    network: Any,
    images: npt.NDArray[Any],
    *,
    batch_size: int = 1024,
    max_images: int = 10_000,
    seed: int = 0,
) -> int:
    """Set every ``BatchNormalization`` layer's moving statistics to the exact statistics of
    its inputs over ``images`` (inference mode upstream); return the number of layers updated.

    Args:
        keras: the imported ``keras`` module.
        network: a functional Keras model taking float32 ``(N, 28, 28)`` pixels whose
            batch-norm layers normalise the last axis (channels last).
        images: the reference images, e.g. the unaugmented training images.
        batch_size: images per forward pass (bounds the memory held at once).
        max_images: at most this many images (a seeded random sample) are used.
        seed: seeds that sample.
    """
    layers = [layer for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or not len(images):
        return 0
    x = np.asarray(images, dtype=np.float32)
    if len(x) > max_images:  # a seeded sample of the images
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_images, replace=False))]
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)  # each probe is a new model: its tracing is expected, not a problem
    try:
        for layer in layers:  # in graph order: pass k sees the re-estimated layers before it
            _reestimate(keras, network, layer, x, batch_size)
    finally:
        tf_log.setLevel(level)
    return len(layers)


def _reestimate(keras: Any, network: Any, layer: Any, x: npt.NDArray[np.float32], batch_size: int) -> None:
    """Set ``layer``'s moving statistics to those of its inputs over ``x``."""
    ops = keras.ops
    acts = layer.input
    axes = tuple(range(1, len(acts.shape) - 1))  # spatial axes: per image and channel
    # per-image channel means of x and x^2: every image has the same number of positions, so
    # their average over images is the population mean (the activations are never kept)
    probe = keras.Model(network.inputs[0], [ops.mean(acts, axis=axes), ops.mean(ops.square(acts), axis=axes)])
    if len(x) <= batch_size:
        means, squares = probe(x, training=False)
    else:
        means, squares = probe.predict(x, batch_size=batch_size, verbose=0)
    mean = np.asarray(ops.convert_to_numpy(means), dtype=np.float64).mean(axis=0)
    square = np.asarray(ops.convert_to_numpy(squares), dtype=np.float64).mean(axis=0)
    layer.moving_mean.assign(mean.astype(np.float32))
    layer.moving_variance.assign(np.maximum(square - mean * mean, 0.0).astype(np.float32))
