"""qr tokens: each license version's compact token (form 2), what its QR code carries

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('license_versions') as batch:
        batch.add_column(sa.Column('qr_token', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('license_versions') as batch:
        batch.drop_column('qr_token')
