"""Worked example: a plain PyTorch CNN as a third-party backend, through the public API only.

It shows the three things a backend provides (docs/extending.md walks through them):

1. a :class:`~asl_recognition.TrainedModel` subclass (``TorchCnnModel``) that predicts from
   validated ``(N, 28, 28)`` 0..255 images and saves itself: weights as ``.npz`` (no pickle) and
   an ONNX export, so ``asl_recognition.load_model`` can serve the saved directory in any
   process, even one that never imported this file (it falls back to the generic ``onnx`` type);
2. a trainer class with ``fit(train, *, validation=None, seed=0) -> TrainResult``, registered
   with :func:`~asl_recognition.register_trainer` (a package would use the
   ``asl_recognition.trainers`` entry-point group instead);
3. the shipped conformance suite, :func:`asl_recognition.testing.check_trainer`.

Run it::

    python examples/custom_backend_torch.py            # conformance + a main job on tiny data
    python examples/custom_backend_torch.py --real     # main job on Sign Language MNIST
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from asl_recognition import (
    ModelMetadata,
    TrainedModel,
    TrainResult,
    register_model_type,
    register_trainer,
)
from asl_recognition.errors import InvalidParameterError, ModelFormatError

logger = logging.getLogger(__name__)

NAME = "example-torch"


def build_network(num_classes: int, channels: int) -> nn.Module:
    """Raw 0..255 pixels (N, 28, 28) in, class probabilities out: preprocessing is inside."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = channels
            self.features = nn.Sequential(
                nn.Conv2d(1, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), nn.ReLU(), nn.MaxPool2d(2),
            )
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * c * 49, num_classes))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.head(self.features(pixels.unsqueeze(1) / 255.0))
            return logits if self.training else torch.softmax(logits, dim=1)

    return Net()


@register_model_type(NAME)
class TorchCnnModel(TrainedModel):
    """The example backend's model: a torch network, saved as ``.npz`` weights + ONNX."""

    model_type = NAME

    def __init__(self, *, metadata: ModelMetadata, network: nn.Module) -> None:
        super().__init__(metadata=metadata)
        self.network = network.eval()

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        with torch.no_grad():
            return np.asarray(self.network(torch.from_numpy(images)).numpy(), dtype=np.float32)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        state = {k: v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}
        np.savez(directory / "weights.npz", **state)  # plain arrays: loads without pickle
        torch.onnx.export(  # the legacy exporter: no onnxscript needed
            self.network, (torch.zeros(1, 28, 28),), str(directory / "model.onnx"), input_names=["pixels"],
            output_names=["probabilities"], dynamic_axes={"pixels": {0: "n"}, "probabilities": {0: "n"}},
            dynamo=False,
        )
        return {"weights": "weights.npz", "onnx": "model.onnx"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> TorchCnnModel:
        network = build_network(len(metadata.labels), int(metadata.extra["channels"]))
        try:
            with np.load(directory / metadata.files["weights"], allow_pickle=False) as npz:
                state = {k: torch.from_numpy(npz[k]) for k in npz.files}
            network.load_state_dict(state)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise ModelFormatError(f"{directory}: cannot load the torch weights: {exc}") from exc
        return cls(metadata=metadata, network=network)


@register_trainer(NAME, replace=True)
class TorchCnnTrainer:
    """A small two-block PyTorch CNN trained with Adam.

    Args:
        epochs: passes over the training data.
        batch_size: images per step.
        learning_rate: Adam's learning rate.
        channels: filters of the first conv block (the second has twice as many).
    """

    def __init__(self, *, epochs: int = 3, batch_size: int = 64, learning_rate: float = 2e-3,
                 channels: int = 16) -> None:
        for name, value in (("epochs", epochs), ("batch_size", batch_size), ("channels", channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(f"{name!r} must be an integer >= 1, got {value!r}")
        if not learning_rate > 0:
            raise InvalidParameterError(f"'learning_rate' must be > 0, got {learning_rate!r}")
        self.epochs, self.batch_size = epochs, batch_size
        self.learning_rate, self.channels = learning_rate, channels

    def fit(self, train: Any, *, validation: Any = None, seed: int = 0) -> TrainResult:
        """Train on ``train`` (a Dataset); report accuracy on ``validation``."""
        start = time.perf_counter()
        torch.manual_seed(seed)
        labels = tuple(int(x) for x in np.unique(train.labels))
        x = torch.tensor(train.images, dtype=torch.float32)  # a copy: the input stays untouched
        y = torch.tensor(np.searchsorted(labels, train.labels), dtype=torch.long)
        net = build_network(len(labels), self.channels)
        opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        gen = torch.Generator().manual_seed(seed)
        for epoch in range(self.epochs):
            net.train()
            for idx in torch.randperm(len(x), generator=gen).split(self.batch_size):  # type: ignore[no-untyped-call]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            logger.info("epoch %d/%d loss %.4f", epoch + 1, self.epochs, float(loss))
        params = {"epochs": self.epochs, "batch_size": self.batch_size,
                  "learning_rate": self.learning_rate, "channels": self.channels}
        meta = ModelMetadata.create(model_type=NAME, backend=NAME, labels=labels, hyperparameters=params,
                                    preprocessing={"inside_graph": "x / 255"},
                                    extra={"channels": self.channels,
                                           "onnx": {"input_layout": "nhw"}})
        model = TorchCnnModel(metadata=meta, network=net)
        metrics: dict[str, float] = {}
        if validation is not None:
            metrics["validation_accuracy"] = float(np.mean(model.predict(validation.images) == validation.labels))
            model.metadata.metrics.update(metrics)
        return TrainResult(model=model, metrics=metrics, hyperparameters=params,
                           timings={"fit_s": time.perf_counter() - start}, backend=NAME)


def main(argv: list[str] | None = None) -> None:
    """Check the backend with the conformance suite, then run the main job with it selected."""
    from asl_recognition.job import JobData, run_job
    from asl_recognition.testing import check_trainer, synthetic_dataset

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--real", action="store_true", help="main job on the real data (slower)")
    p.add_argument("--output_dir", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(name)s %(message)s")

    check_trainer(lambda: TorchCnnTrainer(epochs=2))
    logger.info("conformance suite passed")

    cfg: dict[str, Any] = {"seed": 0, "report": True, "trainer": {
        "torch": {"name": NAME, "params": {"epochs": 5 if args.real else 3}},
        "logistic": {"name": "sklearn", "params": {"max_iter": 200}},
    }}
    data = None
    if not args.real:
        fit = synthetic_dataset(20, seed=0)
        data = JobData(train=fit, fit=fit, validation=synthetic_dataset(5, seed=1), test=synthetic_dataset(5, seed=2))
    out = Path(args.output_dir or tempfile.mkdtemp(prefix="asl-example-"))
    result = run_job(cfg, output_dir=out, data=data)
    logger.info("winner %s; models in %s", result.comparison.winner, out / "models")


if __name__ == "__main__":
    main()
