"""Analysis results: assignments (nearest / DPT / planned / walking TPS per voter).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import context, op

from geo.store import postgis

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LAYERS = ("assignments",)


def upgrade() -> None:
    postgis.create_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=False)


def downgrade() -> None:
    postgis.drop_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=False)
