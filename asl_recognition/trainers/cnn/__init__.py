"""The Keras CNN backend (``cnn``): one training script and a local HyperDrive sweep.

Nothing here imports Keras at import time; see :mod:`.backend` (``KerasCnnTrainer``),
:mod:`.train` (the training script) and :mod:`.sweep`; the model flavour it saves is
:mod:`asl_recognition.models.keras`.
"""
