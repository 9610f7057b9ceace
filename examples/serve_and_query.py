"""Serve a saved model locally and query it the way the seed project's client did.

Run::

    python examples/serve_and_query.py MODEL_DIR [--data-dir DIR]

Starts the Azure ML inference server on 127.0.0.1 (no Docker), sends eight test rows in the seed's
request format (``{"data": [{"pixel1": ..., "pixel784": ...}, ...]}`` built with
``DataFrame.to_dict(orient="index")``), prints the answer, and stops the service.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from asl_recognition import get_deployer


def seed_request(test_csv: Path) -> tuple[bytes, list[int]]:
    """The seed's client code, unchanged in substance: rows 1..8 of the test file."""
    test_data = pd.read_csv(test_csv)
    x_test = test_data.iloc[1:9, 1:785]
    actual = test_data.iloc[1:9, 0].tolist()
    testdict = x_test.to_dict(orient="index")
    input_list = tuple(testdict[i] for i in range(1, 9))
    return json.dumps({"data": input_list}).encode(), actual


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Deploy, query, delete; return the decoded answer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--data-dir", default=os.environ.get("ASL_DATA_DIR"))
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir or ASL_DATA_DIR is required")
    body, actual = seed_request(Path(args.data_dir) / "sign_mnist_test.csv")
    service = get_deployer("local").deploy(args.model_dir)
    try:
        request = urllib.request.Request(service.scoring_uri, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.loads(response.read())
    finally:
        service.delete()
    print("actual labels:   ", actual)
    print("predicted labels:", answer["result"])
    print("letters:         ", answer["letters"])
    return answer


if __name__ == "__main__":
    main()
