"""Turning a domain error into a message for the browser, without keeping half a change.

A page that answers a refused action with a redirect has a status below 400, so the
request's unit of work would be committed: roll back first, or a purchase that failed
on the ledger would leave its unpaid order behind.
"""

from __future__ import annotations

from flask import flash

from models.errors import DomainError

from . import dbsession


def refuse(exc: DomainError) -> None:
    dbsession.session().rollback()
    flash(exc.message, "error")
