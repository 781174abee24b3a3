"""The workyard SDK: sync and async clients for the workyard / Qoder Cloud Agents API.

```python
from workyard.client import Client

with Client("http://127.0.0.1:8080", token="pt-…") as client:
    env = client.environments.create("laptops", config={"type": "self_hosted"})
    session = client.sessions.create(env.id, title="fix the build")
    item = client.work.poll(env.id, block_ms=500, worker_id="w1")
```
"""

from workyard.client._async import AsyncClient
from workyard.client._base import NOT_GIVEN, NotGiven, RetryPolicy
from workyard.client._models import (
    Deleted,
    Environment,
    HeartbeatResult,
    Page,
    QueueStats,
    Session,
    WorkItem,
)
from workyard.client._sync import Client

__all__ = [
    "NOT_GIVEN",
    "AsyncClient",
    "Client",
    "Deleted",
    "Environment",
    "HeartbeatResult",
    "NotGiven",
    "Page",
    "QueueStats",
    "RetryPolicy",
    "Session",
    "WorkItem",
]
