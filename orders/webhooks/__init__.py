"""Merchant webhooks: endpoints a manager registers, deliveries of the outbox's events to
them (signed per Standard Webhooks), and every attempt. See docs/webhooks.md."""
