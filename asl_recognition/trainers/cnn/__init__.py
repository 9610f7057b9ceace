"""The Keras CNN backend (``cnn``): one training script, a local HyperDrive sweep, a model type.

Nothing here imports Keras at import time; see :mod:`.backend` (``KerasCnnTrainer``),
:mod:`.train` (the training script), :mod:`.sweep` and :mod:`.keras_model`.
"""
