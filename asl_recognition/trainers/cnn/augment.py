"""Training-time augmentation: one random affine warp plus brightness/contrast jitter.

The layer is written with ``keras.ops`` / ``keras.random`` only, so it runs on every Keras
backend. It lives only in the *training* wrapper around the network (see ``train.py``); the saved
inference network never contains it, so loading a model needs no custom objects.

The strengths match what the Sign Language MNIST training file itself was built with (small
crops, rotations and brightness changes of a few photos): rotation up to ``rotation`` degrees,
zoom by ``1 +- zoom``, shear up to ``shear``, shifts up to ``shift`` pixels, brightness
``+- brightness`` of the full range and contrast ``1 +- contrast``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DEFAULT_STRENGTH", "make_augmentation"]

#: default augmentation parameters (see the module docstring)
DEFAULT_STRENGTH: dict[str, float] = {
    "rotation": 10.0,
    "zoom": 0.10,
    "shear": 0.10,
    "shift": 2.5,
    "brightness": 0.15,
    "contrast": 0.20,
}


def make_augmentation(keras: Any, *, seed: int, scale: float = 1.0, **strength: float) -> Any:
    """Return a Keras layer that augments float ``(N, 28, 28)`` 0..255 images when training.

    ``scale`` multiplies every range; ``strength`` overrides single ones. In inference mode
    (``training=False``) the layer is the identity.
    """
    params = {k: v * scale for k, v in {**DEFAULT_STRENGTH, **strength}.items()}
    ops = keras.ops

    class RandomAffineJitter(keras.layers.Layer):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def _uniform(self, n: Any, bound: float) -> Any:
            return keras.random.uniform((n,), -bound, bound, seed=self.seed_generator)

        def call(self, images: Any, training: bool | None = None) -> Any:
            if not training:
                return images
            n = ops.shape(images)[0]
            size = ops.cast(ops.shape(images)[1], "float32")
            centre = (size - 1.0) / 2.0
            angle = self._uniform(n, math.radians(params["rotation"]))
            scale = 1.0 + self._uniform(n, params["zoom"])
            shear = self._uniform(n, params["shear"])
            tx = self._uniform(n, params["shift"])
            ty = self._uniform(n, params["shift"])
            cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
            # output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2)
            a0, a1, b0, b1 = cos, -sin + shear, sin, cos
            a2 = centre - a0 * centre - a1 * centre + tx
            b2 = centre - b0 * centre - b1 * centre + ty
            zeros = ops.zeros_like(a0)
            transform = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
            warped = ops.image.affine_transform(
                ops.expand_dims(images, -1), transform, fill_mode="nearest",
                data_format="channels_last",
            )[..., 0]
            mean = ops.mean(warped, axis=(1, 2), keepdims=True)
            contrast = ops.reshape(1.0 + self._uniform(n, params["contrast"]), (-1, 1, 1))
            bright = ops.reshape(self._uniform(n, params["brightness"] * 255.0), (-1, 1, 1))
            return ops.clip((warped - mean) * contrast + mean + bright, 0.0, 255.0)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    return RandomAffineJitter(name="augment", dtype="float32")  # also under mixed precision
