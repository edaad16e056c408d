"""Domain errors. Each edge maps them: HTTP status, SMTP reply or kopeechka value.

``code`` is the stable machine-readable name used in API error bodies.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__ or self.code)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidInput(DomainError):
    """The request is malformed or a value is out of range."""

    code = "invalid_input"


class NotFound(DomainError):
    """No such object, or it is not yours."""

    code = "not_found"


class Conflict(DomainError):
    """The object is not in a state that allows this."""

    code = "conflict"


class InsufficientFunds(DomainError):
    """The wallet balance does not cover this."""

    code = "insufficient_funds"


class UnbalancedTransaction(DomainError):
    """A ledger transaction whose entries do not sum to zero."""

    code = "unbalanced_transaction"


class AccountSuspended(DomainError):
    """This account is suspended."""

    code = "account_suspended"


class UnknownService(NotFound):
    """No such service."""

    code = "unknown_service"


class UnknownDomain(NotFound):
    """No such active mail domain."""

    code = "unknown_domain"


class OrderNotFound(NotFound):
    """No such order."""

    code = "order_not_found"


class OrderNotCancellable(Conflict):
    """The order is already canceled or expired, or it is a rental."""

    code = "order_not_cancellable"


class ReorderNotPossible(Conflict):
    """The order is still waiting for its first message, or the address is in use."""

    code = "reorder_not_possible"


class RentalNotActive(Conflict):
    """The rental has expired."""

    code = "rental_not_active"


class OutOfStock(Conflict):
    """No active mail domain can take a new address."""

    code = "out_of_stock"


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was used with different parameters."""

    code = "idempotency_key_reused"


class AuthenticationFailed(DomainError):
    """Wrong e-mail or password."""

    code = "authentication_failed"


class EmailTaken(Conflict):
    """An account with this e-mail already exists."""

    code = "email_taken"


class RateLimited(DomainError):
    """Too many requests or orders for now; try again later."""

    code = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class TooManyWaitingOrders(RateLimited):
    """Too many orders of this account are still waiting for a message."""

    code = "too_many_waiting_orders"


class CancelCooldown(RateLimited):
    """This account cancels most of what it buys; purchases pause for a while."""

    code = "cancel_cooldown"


class TermsNotAccepted(DomainError):
    """A new version of the terms was published: accept it before buying again."""

    code = "terms_not_accepted"


class NotAReseller(DomainError):
    """This account is not a reseller."""

    code = "not_a_reseller"
