from alembic import context

from listener.queue.search import SEARCH_OBJECTS
from listener.store.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The search table and index are made by hand in 0007, not from the models.
        include_name=lambda name, type_, parent: name not in SEARCH_OBJECTS,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
