"""Deployment: one scoring script (``score.py``) served locally or on Azure Container Instances."""

from __future__ import annotations

from asl_recognition.deploy.base import (
    Deployer,
    Service,
    available_deployers,
    deployers,
    get_deployer,
)

__all__ = ["Deployer", "Service", "available_deployers", "deployers", "get_deployer"]
