"""Alembic environment of the PostGIS store.

Run programmatically by ``PostgisStore.init()``, which passes the open connection and the target
schema in ``config.attributes``; the version table lives inside that schema. Offline (SQL script)
mode is not supported: the migrations build tables from ``geo.schema`` at run time.
"""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("petatps migrations run through PostgisStore.init(), which supplies the connection")

context.configure(connection=connection, version_table_schema=config.attributes["schema"],
                  transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
