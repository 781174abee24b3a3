"""The workyard SDK: sync and async clients for the workyard / Qoder Cloud Agents API.

```python
from workyard.client import Client, user_message

with Client("http://127.0.0.1:8080", token="pt-…") as client:
    env = client.environments.create(name="laptops", config={"type": "self_hosted"})
    session = client.sessions.create(environment_id=env.id, title="fix the build")
    client.sessions.events.send(session.id, [user_message("fix the build")])
    for event in client.sessions.events.stream(session.id):  # live; resumes after a drop
        print(event.type, event.text)
```
"""

from workyard.client._async import AsyncClient
from workyard.client._base import NOT_GIVEN, NotGiven, RequestOptions, Timeout
from workyard.client._config import DEFAULT_TIMEOUT, USER_AGENT
from workyard.client._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from workyard.client._events import (
    INPUT_EVENT_TYPES,
    WORKER_EVENT_TYPES,
    Cancellation,
    Event,
    text_blocks,
    user_interrupt,
    user_message,
)
from workyard.client._models import (
    Deleted,
    Environment,
    HeartbeatResult,
    Page,
    QueueStats,
    Session,
    WorkItem,
)
from workyard.client._pages import AsyncPage, AsyncPaginator, SyncPage
from workyard.client._retry import RetryPolicy
from workyard.client._sse import ReconnectPolicy
from workyard.client._sync import Client

__all__ = [
    "DEFAULT_TIMEOUT",
    "INPUT_EVENT_TYPES",
    "NOT_GIVEN",
    "USER_AGENT",
    "WORKER_EVENT_TYPES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "Cancellation",
    "Client",
    "ConflictError",
    "Deleted",
    "Environment",
    "Event",
    "HeartbeatResult",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "OverloadedError",
    "Page",
    "PermissionDeniedError",
    "QueueStats",
    "RateLimitError",
    "ReconnectPolicy",
    "RequestOptions",
    "RequestTooLargeError",
    "RetryPolicy",
    "Session",
    "SyncPage",
    "Timeout",
    "UnprocessableEntityError",
    "WorkItem",
    "text_blocks",
    "user_interrupt",
    "user_message",
]
