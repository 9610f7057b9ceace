"""Trained models: one on-disk format and one module per model flavour (MLflow style).

:mod:`.base` holds :class:`TrainedModel`, the directory format (``asl_model.json``),
:func:`load_model` and the flavour registry. Each flavour is a module of its own, imported only
when a model of that flavour is built or loaded:

* :mod:`.sklearn`: scikit-learn pipelines saved with skops (and their feature transformers),
* :mod:`.keras`: Keras networks (``.keras`` in safe mode) with their ONNX export,
* :mod:`.onnx`: any ONNX graph, served by onnxruntime,
* :mod:`.product`: a product of experts over other models.

Trainers build models from these modules; nothing here imports a trainer.

>>> from asl_recognition.models import model_types
>>> sorted(set(model_types.names()) & {"keras", "onnx", "product", "sklearn"})
['keras', 'onnx', 'product', 'sklearn']
"""

from __future__ import annotations

# the public names of the format and the registry, re-exported (base.py's __all__ says which)
from asl_recognition.models.base import *  # noqa: F403
from asl_recognition.models.base import __all__ as __all__
