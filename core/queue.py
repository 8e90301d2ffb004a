"""Sending a Celery task by its registered name.

A service module that queues work would otherwise import its app's tasks module, which
imports the services: a circle, dodged until now with imports inside functions. Sending by
name keeps the dependency one way (tasks -> services -> core.queue).

The task object is looked up rather than handed to `send_task`, because only the task's own
`apply_async` honours CELERY_TASK_ALWAYS_EAGER (no broker: `make run`, the tests). A web
process has not necessarily imported the tasks module yet, so the module the name points
at (a shared task's default name is its module and function) is imported on first use.

A send the broker refuses never raises: the caller's record stays as it was (queued,
pending, open) and is logged; the app's sweep, or a person, sends it again.
"""

import importlib
import logging

from celery import current_app

logger = logging.getLogger(__name__)

# A broker that does not answer gets this much retrying (about a second) before the send is
# given up and left to the sweep: the request that stored the work is not held longer.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def send(name, *args, queue=None, retry_policy=PUBLISH_RETRY, unsent="the sweep will send it"):
    """Send the task registered as `name` with `args`, on `queue` (the task's default queue
    when None) with kombu's `retry_policy` (Celery's default when None). Returns True when
    the broker took it; when it refused, logs why with `unsent` (what happens to the work
    instead) and returns False. A name no task has raises KeyError: that is a bug, not an
    outage."""
    task = _task(name)
    options = {}
    if queue is not None:
        options["queue"] = queue
    if retry_policy is not None:
        options["retry_policy"] = retry_policy
    try:
        task.apply_async(args, **options)
    except Exception:  # the broker is down or refused; eager: the task itself failed
        logger.exception("Could not send %s%r; %s", name, args, unsent)
        return False
    return True


def _task(name):
    tasks = current_app.tasks
    if name not in tasks:
        importlib.import_module(name.rpartition(".")[0])
    return tasks[name]
