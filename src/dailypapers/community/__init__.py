"""The community's rules: accounts, votes, submissions, comments, collections, rate limits.

These functions check permissions and validate input, then call the store; the web layer and the
CLI turn their typed errors (errors.py) into messages and status codes.
"""
