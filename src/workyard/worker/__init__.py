"""The worker runtime: poll, ack, heartbeat and stop work items, running a handler for each.

:class:`Worker` is the loop; a handler is an async callable taking a :class:`WorkContext`.
:class:`CommandHandler` is the handler behind ``workyard worker run -- COMMAND``.
"""

from workyard.worker.command import CommandHandler
from workyard.worker.context import Handler, WorkContext
from workyard.worker.logs import StatusLog
from workyard.worker.runtime import Worker, default_worker_id

__all__ = ["CommandHandler", "Handler", "StatusLog", "WorkContext", "Worker", "default_worker_id"]
