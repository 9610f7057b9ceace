"""The OpenAPI documents of the scoring service, served by the inference server itself.

The Azure ML inference server answers ``GET /swagger.json`` (Swagger 2.0) and
``GET /swagger.json?version=3`` (OpenAPI 3.0) from the files ``swagger.json`` and
``swagger3.json`` in its app root (``AML_APP_ROOT``) when they exist, so no decorator on
``run()`` is needed: :func:`write_swagger_files` writes them there.

>>> openapi_document("3")["openapi"]
'3.0.1'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from asl_recognition._io import atomic_write_text
from asl_recognition.errors import InvalidParameterError

__all__ = ["openapi_document", "write_swagger_files"]

_PIXEL_ROW = {
    "type": "object",
    "description": "one 28x28 image as columns pixel1..pixel784 (values 0..255)",
    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 255},
}
_INPUT = {
    "type": "object",
    "properties": {
        "data": {
            "type": "array",
            "description": "rows as {pixel1..pixel784} objects, lists of 784 numbers, "
            "or 28x28 nested lists",
            "items": {},
        },
        "Inputs": {"type": "object", "properties": {"data": {"type": "array", "items": {}}}},
        "images": {
            "type": "array",
            "description": "base64-encoded PNG/JPEG files (data: URLs allowed)",
            "items": {"type": "string"},
        },
        "top_k": {"type": "integer", "minimum": 1, "default": 3},
        "return_images": {"type": "boolean", "default": False},
    },
    "example": {"data": [{"pixel1": 107, "pixel2": 118, "pixel784": 204}]},
}
_CANDIDATE = {
    "type": "object",
    "properties": {
        "label": {"type": "integer"},
        "letter": {"type": "string"},
        "probability": {"type": "number"},
    },
}
_OUTPUT = {
    "type": "object",
    "properties": {
        "result": {"type": "array", "items": {"type": "integer"}, "description": "label ids"},
        "letters": {"type": "array", "items": {"type": "string"}},
        "probabilities": {
            "type": "array",
            "description": "per image, the top_k classes, most probable first",
            "items": {"type": "array", "items": {"$ref": "#/definitions/Candidate"}},
        },
        "images": {
            "type": "array",
            "description": "with return_images: the 28x28 pixels the model saw",
            "items": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        },
    },
    "example": {
        "result": [0],
        "letters": ["A"],
        "probabilities": [[{"label": 0, "letter": "A", "probability": 0.97}]],
    },
}
_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}
_ERRORS = {
    "400": "malformed input (the message names the field, row and column)",
    "401": "missing or wrong key",
    "413": "body, row count or image too large",
    "415": "unsupported Content-Type",
}


def openapi_document(
    version: str = "2", *, title: str = "ASL fingerspelling recogniser"
) -> dict[str, Any]:
    """The service description as Swagger 2.0 (``version="2"``) or OpenAPI 3.0 (``"3"``)."""
    if version not in ("2", "3"):
        raise InvalidParameterError(f"OpenAPI version must be '2' or '3', got {version!r}")
    ref = "#/definitions/" if version == "2" else "#/components/schemas/"
    schemas = json.loads(
        json.dumps(
            {
                "ServiceInput": _INPUT,
                "ServiceOutput": _OUTPUT,
                "Candidate": _CANDIDATE,
                "Error": _ERROR,
            }
        ).replace("#/definitions/", ref)
    )
    security: list[dict[str, list[str]]] = [{"Bearer": []}]
    if version == "2":
        responses: dict[str, Any] = {
            "200": {"description": "predictions", "schema": {"$ref": f"{ref}ServiceOutput"}}
        }
        responses |= {
            c: {"description": d, "schema": {"$ref": f"{ref}Error"}} for c, d in _ERRORS.items()
        }
        return {
            "swagger": "2.0",
            "info": {"title": title, "version": "1.0"},
            "schemes": ["http", "https"],
            "consumes": ["application/json", "image/png", "image/jpeg", "multipart/form-data"],
            "produces": ["application/json"],
            "securityDefinitions": {
                "Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}
            },
            "paths": {
                "/score": {
                    "post": {
                        "operationId": "RunMLService",
                        "description": "Predict the letters of one or more hand images",
                        "security": security,
                        "parameters": [
                            {
                                "name": "serviceInputPayload",
                                "in": "body",
                                "schema": {"$ref": f"{ref}ServiceInput"},
                            }
                        ],
                        "responses": responses,
                    }
                }
            },
            "definitions": schemas,
        }
    json_body = {"application/json": {"schema": {"$ref": f"{ref}ServiceInput"}}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    out3: dict[str, Any] = {
        "200": {
            "description": "predictions",
            "content": {"application/json": {"schema": {"$ref": f"{ref}ServiceOutput"}}},
        }
    }
    out3 |= {
        c: {"description": d, "content": {"application/json": {"schema": {"$ref": f"{ref}Error"}}}}
        for c, d in _ERRORS.items()
    }
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": {
            "/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": "Predict the letters of one or more hand images",
                    "security": security,
                    "requestBody": {
                        "content": json_body | {"image/png": binary, "image/jpeg": binary},
                    },
                    "responses": out3,
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"Bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def write_swagger_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``swagger.json`` (2.0) and ``swagger3.json`` (3.0) into the server's app root."""
    target = Path(directory)
    return [
        atomic_write_text(target / "swagger.json", json.dumps(openapi_document("2"), indent=1)),
        atomic_write_text(target / "swagger3.json", json.dumps(openapi_document("3"), indent=1)),
    ]
