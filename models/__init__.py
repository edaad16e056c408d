"""The shared model layer: tables and the business operations on them.

Nothing here imports Flask, aiosmtpd, ``web`` or ``smtp``; both transports call
these functions and map the errors in :mod:`models.errors` to their own replies.
"""

from . import abuse_detection as abuse_detection
from . import admin_ops as admin_ops
from . import audit, catalog, idempotency, ledger, mail, orders, users
from . import disputes as disputes
from . import mailtm as mailtm
from . import payments as payments
from . import privacy as privacy
from . import resellers as resellers
from . import terms as terms
from . import tickets as tickets
from . import webhooks as webhooks
from .base import Base, utcnow
from .db import Database

__all__ = [
    "Base",
    "Database",
    "audit",
    "catalog",
    "idempotency",
    "ledger",
    "mail",
    "orders",
    "users",
    "utcnow",
]
