"""Delivery: what reaches a member outside the site. Subscriptions with double opt-in, saved-search
alerts, recommendations (also shown on /for-you), the digest window, building and rendering digests,
the outbox sender and the one module that talks SMTP (mail)."""
