"""The seed project's AutoML-style scoring path, reproduced for the serving benchmark only.

Like Azure AutoML's generated ``scoring_file_v_1_0_0.py``: ``run`` is decorated with
inference-schema's ``PandasParameterType`` over the 784 pixel columns, so the server builds a
pandas DataFrame for every request; the model is a joblib-pickled scikit-learn pipeline (the
benchmark writes that file itself: joblib is used here only to reproduce the seed), and the
answer is a JSON *string* (``json.dumps``), as the seed's service returned it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.schema_decorators import input_schema, output_schema

input_sample = pd.DataFrame({f"pixel{i}": pd.Series([0], dtype="int64") for i in range(1, 785)})
output_sample = np.array([0])

model: Any = None


def init() -> None:
    """Load the pickled pipeline from AZUREML_MODEL_DIR."""
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))


@input_schema("data", PandasParameterType(input_sample))  # type: ignore[misc,untyped-decorator]
@output_schema(NumpyParameterType(output_sample))  # type: ignore[misc,untyped-decorator]
def run(data: pd.DataFrame) -> str:
    """Predict the label of every row, answered as a JSON string like the seed service."""
    try:
        result = model.predict(data)
        return json.dumps({"result": result.tolist()})
    except Exception as e:
        return json.dumps({"error": str(e)})
