"""Signals that let lower layers ask higher ones for work without importing them."""

from django.dispatch import Signal

# Sent after commit whenever an order enters Import Review (created, submitted, retried,
# approved, released). The review module connects to it and enqueues the review task.
review_requested = Signal()
