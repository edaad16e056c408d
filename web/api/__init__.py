"""REST API v1: bearer API keys, JSON in and out, domain errors mapped to statuses."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import errors, events, legal, orders, resellers, resources, webhooks  # noqa: E402,F401  (routes register on import)
