"""login: the access token a code gave is kept in the code's row (authorization_codes.token_sha256),
not in a table of its own (login_tokens): one row written an exchange, not two

Revision ID: 0010
Revises: 0009

Access tokens live five minutes: the ones outstanding when this runs stop working (userinfo answers
401 and the platform logs the holder in again), as after any restart of a token store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_sha256', sa.String(length=64), nullable=True))
    with op.batch_alter_table('login_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_tokens_code_sha256'))
    op.drop_table('login_tokens')


def downgrade() -> None:
    op.create_table('login_tokens',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('share_name', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('auth_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256')
    )
    with op.batch_alter_table('login_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_tokens_code_sha256'), ['code_sha256'], unique=False)
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('token_sha256')
