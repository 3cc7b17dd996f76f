"""editor: reserved for the editor work (filled by that change)

Revision ID: a1e0d1t0r001
Revises: 73a71f46364d
Create Date: 2026-11-25 20:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import flowapp.models.base  # noqa: F401

revision = "a1e0d1t0r001"
down_revision = "73a71f46364d"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
