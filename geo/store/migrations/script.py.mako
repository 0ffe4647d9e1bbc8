"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from alembic import context, op

from geo.store import postgis

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

LAYERS = ()  # the geo.schema layers this revision adds


def upgrade() -> None:
    postgis.create_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=False)


def downgrade() -> None:
    postgis.drop_tables(op.get_bind(), context.config.attributes["schema"], LAYERS, with_meta=False)
