"""Alembic environment: the connection comes from ``license_service.db.migrate`` (never a URL in a
config file), the target metadata from the models."""

from __future__ import annotations

from alembic import context

from license_service.db.migrate import include_object
from license_service.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True, include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
