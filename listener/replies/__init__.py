"""Replies: drafts and the reply checker, approval, the outbox that sends each exactly once,
hiding comments, and what an incident posts in public.
"""
