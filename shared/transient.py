"""Which failures are the world being briefly unavailable (retry, or answer 503) rather than a wrong request or
message (refuse it): the consumer retries them in place, the APIs answer them 503 with Retry-After."""

from __future__ import annotations

from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa_exc

_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P03", "53300", "08000", "08003", "08006"}


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying in place: the world was briefly unavailable, not the message wrong."""
    if isinstance(exc, (OSError, TimeoutError, ConnectionError, KafkaError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True
        cause = getattr(exc.orig, "__cause__", None)
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
        return sqlstate in _TRANSIENT_SQLSTATES
    return False
