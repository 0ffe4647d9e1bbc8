"""Area layers, TPS, voters, plus meta (data_version) and runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Tables are generated from the geo.schema.LAYERS declarations named below; a layer declared later
(assignments, coverage) gets its own revision listing it, and a column added to one of these layers
needs a revision that alters the table (databases already at 0001 never run this file again).
"""

from alembic import context, op

from geo.store import postgis

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LAYERS = ("kota", "kecamatan", "kelurahan", "rw", "rt", "tps", "voters")


def upgrade() -> None:
    postgis.create_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=True)


def downgrade() -> None:
    postgis.drop_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=True)
