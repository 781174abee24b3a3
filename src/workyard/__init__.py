"""workyard: control plane and worker runtime for self-hosted agent environments."""

from workyard.client import AsyncClient, Client
from workyard.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    WorkyardError,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "WorkyardError",
    "__version__",
]

__version__ = "0.1.0"
