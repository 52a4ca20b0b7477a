"""The store: SQLAlchemy models, engine and session setup, and migrations."""
