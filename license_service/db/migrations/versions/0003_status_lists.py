"""status lists: each license version's index, and the published lists

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('license_versions') as batch:  # SQLite rebuilds the table for the constraint
        batch.add_column(sa.Column('status_index', sa.BigInteger(), nullable=True))
        batch.create_unique_constraint('uq_license_versions_status_index', ['status_index'])
    op.create_table('status_lists',
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('list_no', sa.Integer(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('purpose', 'list_no')
    )


def downgrade() -> None:
    op.drop_table('status_lists')
    with op.batch_alter_table('license_versions') as batch:
        batch.drop_constraint('uq_license_versions_status_index', type_='unique')
        batch.drop_column('status_index')
