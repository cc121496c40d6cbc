"""The newsletter's signals."""

from django.dispatch import Signal

# Sent, with ``issue_id``, once the transaction that left an issue with
# deliveries to send has committed. The models only say that a sender is
# wanted; ``tasks.py`` answers by queueing one for the worker, so the models
# never import the task queue.
sender_wanted = Signal()

# Sent, with ``issue_id`` and ``at``, once an issue's scheduling has committed:
# ``tasks.py`` queues a task that starts it then.
schedule_wanted = Signal()
