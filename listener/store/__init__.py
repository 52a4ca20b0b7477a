"""The store: SQLAlchemy models, engine and sessions, migrations, the audit log and leases."""
