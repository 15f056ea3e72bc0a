"""long-term forms: each license version's archived PAdES B-LTA form

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('long_term_forms',
    sa.Column('license_id', sa.String(length=96), nullable=False),
    sa.Column('issued_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('document_timestamps', sa.Integer(), nullable=False),
    sa.Column('timestamp_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['license_versions.license_id'], ),
    sa.PrimaryKeyConstraint('license_id'),
    sa.UniqueConstraint('issued_sha256')
    )
    with op.batch_alter_table('long_term_forms') as batch:
        batch.create_index(batch.f('ix_long_term_forms_timestamp_expires_at'), ['timestamp_expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('long_term_forms') as batch:
        batch.drop_index(batch.f('ix_long_term_forms_timestamp_expires_at'))
    op.drop_table('long_term_forms')
