"""The CNN definitions: ``seed`` (the seed study's network, for parity) and ``small`` (default).

Both networks take float32 ``(N, 28, 28)`` raw 0..255 pixels and output class probabilities
``(N, C)``; the scaling to 0..1 and the channel axis are layers of the network, so the saved
``.keras`` file and its ONNX export need no preprocessing outside the graph.

``seed``
    ``Conv2D(28, 3x3) > MaxPool(2) > Flatten > Dense(hidden, relu) > Dropout > Dense(softmax)``,
    exactly as the seed's ``train.py`` (``dropout >= 1`` means no dropout layer, as there).
``small``
    two 32-filter and two 64-filter 3x3 conv blocks with batch norm and max pooling, dropout,
    one ``Dense(hidden)`` layer (hidden=128: ~470k parameters, ~1.9 MB of float32 weights).

>>> sorted(ARCHITECTURES)
['seed', 'small']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asl_recognition.data.arrays import IMAGE_SHAPE
from asl_recognition.errors import InvalidParameterError

__all__ = ["ARCHITECTURES", "build_model"]


def _inputs(keras: Any) -> tuple[Any, Any]:
    inputs = keras.Input(shape=IMAGE_SHAPE, dtype="float32", name="pixels")
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = keras.layers.Reshape((*IMAGE_SHAPE, 1), name="channel")(x)
    return inputs, x


def _probabilities(layers: Any, num_classes: int) -> Any:
    # float32 even under a mixed-precision policy: a bfloat16 softmax rounds probabilities
    # near 1 to steps of ~0.004, too coarse for the loss (a no-op in float32 training)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")


def _seed(keras: Any, num_classes: int, hidden: int, dropout: float) -> Any:
    layers = keras.layers
    inputs, x = _inputs(keras)
    x = layers.Conv2D(28, (3, 3))(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden, activation="relu")(x)
    if dropout < 1:
        x = layers.Dropout(dropout)(x)
    outputs = _probabilities(layers, num_classes)(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def _small(keras: Any, num_classes: int, hidden: int, dropout: float) -> Any:
    layers = keras.layers
    inputs, x = _inputs(keras)
    for filters in (32, 64):
        for _ in range(2):
            x = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D((2, 2))(x)
        x = layers.Dropout(min(dropout, 0.9) / 2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dropout(min(dropout, 0.9))(x)
    outputs = _probabilities(layers, num_classes)(x)
    return keras.Model(inputs, outputs, name="small_cnn")


ARCHITECTURES: dict[str, Callable[[Any, int, int, float], Any]] = {"seed": _seed, "small": _small}


def build_model(keras: Any, arch: str, *, num_classes: int, hidden: int, dropout: float) -> Any:
    """Build the (uncompiled) inference network ``arch``.

    Args:
        keras: the imported ``keras`` module (see :func:`asl_recognition.models._keras_env.import_keras`).
        arch: ``"seed"`` or ``"small"``.
        num_classes: number of probability columns.
        hidden: units of the dense hidden layer.
        dropout: dropout rate; for ``seed`` a value >= 1 means no dropout layer.
    """
    if arch not in ARCHITECTURES:
        raise InvalidParameterError(
            f"'arch' must be one of {', '.join(sorted(ARCHITECTURES))}, got {arch!r}"
        )
    return ARCHITECTURES[arch](keras, num_classes, hidden, dropout)
