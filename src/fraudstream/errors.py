"""The exception tree of fraudstream.

Every error the library raises on purpose derives from :class:`FraudStreamError`::

    FraudStreamError
     ├── ConfigError (ValueError)        bad settings, flags or arguments (CLI exit code 2)
     ├── InvalidRecord (ValueError)      a record or column breaks the record model
     │    └── LabelLeakError             a label column reached a detector input
     ├── NotFittedError (ValueError, AttributeError)
     ├── ModelFileError                  a model file is corrupt or does not match
     ├── TransportError (OSError)        sockets, brokers, streams
     └── StoreError                      databases

Messages name the field, the bad value and what is allowed, e.g.
``amount must be >= 0, got -3.5 (line 1042 of cards.csv)``. The CLI maps each error to one
line on stderr and the error's ``exit_code``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FraudStreamError",
    "InvalidRecord",
    "LabelLeakError",
    "ModelFileError",
    "NotFittedError",
    "StoreError",
    "TransportError",
]


class FraudStreamError(Exception):
    """Base class of every error fraudstream raises on purpose."""

    exit_code = 1


class ConfigError(FraudStreamError, ValueError):
    """A setting, flag or argument is not allowed."""

    exit_code = 2


class InvalidRecord(FraudStreamError, ValueError):
    """A record or a column does not fit the record model."""


class LabelLeakError(InvalidRecord):
    """A label column (``is_fraud``, ``fraud_pattern``) was passed where only inputs belong."""


class NotFittedError(FraudStreamError, ValueError, AttributeError):
    """A detector or transformer was used before ``fit``."""


class ModelFileError(FraudStreamError):
    """A saved model is corrupt, of another format, or does not match its metadata."""


class TransportError(FraudStreamError, OSError):
    """A socket, broker or stream failed (address in use, connection refused, ...)."""


class StoreError(FraudStreamError):
    """A database operation failed."""
