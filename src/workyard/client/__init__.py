"""The workyard SDK: sync and async clients for the workyard / Qoder Cloud Agents API.

```python
from workyard.client import Client, user_message

with Client("http://127.0.0.1:8080", token="pt-…") as client:
    env = client.environments.create("laptops", config={"type": "self_hosted"})
    session = client.sessions.create(env.id, title="fix the build")
    client.sessions.events.send(session.id, [user_message("fix the build")])
    for event in client.sessions.events.stream(session.id):  # live; resumes after a drop
        print(event.type, event.text)
```
"""

from workyard.client._async import AsyncClient
from workyard.client._base import NOT_GIVEN, NotGiven, RetryPolicy
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
from workyard.client._sse import ReconnectPolicy
from workyard.client._sync import Client

__all__ = [
    "INPUT_EVENT_TYPES",
    "NOT_GIVEN",
    "WORKER_EVENT_TYPES",
    "AsyncClient",
    "Cancellation",
    "Client",
    "Deleted",
    "Environment",
    "Event",
    "HeartbeatResult",
    "NotGiven",
    "Page",
    "QueueStats",
    "ReconnectPolicy",
    "RetryPolicy",
    "Session",
    "WorkItem",
    "text_blocks",
    "user_interrupt",
    "user_message",
]
