"""Delivery: subscriptions with double opt-in, saved-search alerts, digest building and rendering,
the outbox sender. Recommendations are in ../recommend.py, the worker in ../worker.py."""
