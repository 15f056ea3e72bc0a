"""holders: bindings, passkeys, invitations, ceremonies, sessions, presentations

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('holder_ceremonies',
    sa.Column('ceremony_id', sa.String(length=44), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('challenge', sa.LargeBinary(length=64), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ceremony_id')
    )
    op.create_table('holder_invitations',
    sa.Column('invitation_id', sa.String(length=32), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.String(length=800), nullable=False),
    sa.Column('grant_not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('grant_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('holder_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['uscc'], ['market_entities.uscc'], ),
    sa.PrimaryKeyConstraint('invitation_id'),
    sa.UniqueConstraint('code_sha256'),
    sa.UniqueConstraint('secret_sha256')
    )
    with op.batch_alter_table('holder_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holder_invitations_uscc'), ['uscc'], unique=False)

    op.create_table('holders',
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_salt', sa.String(length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=True),
    sa.Column('scope', sa.String(length=800), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=64), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_handle', sa.String(length=44), nullable=False),
    sa.Column('leaf_index', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['uscc'], ['market_entities.uscc'], ),
    sa.PrimaryKeyConstraint('holder_id'),
    sa.UniqueConstraint('user_handle')
    )
    with op.batch_alter_table('holders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holders_granted_by'), ['granted_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_holders_uscc'), ['uscc'], unique=False)

    op.create_table('holder_passkeys',
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['holder_id'], ['holders.holder_id'], ),
    sa.PrimaryKeyConstraint('credential_id')
    )
    with op.batch_alter_table('holder_passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holder_passkeys_holder_id'), ['holder_id'], unique=False)

    op.create_table('holder_sessions',
    sa.Column('id_sha256', sa.String(length=64), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('csrf', sa.String(length=44), nullable=False),
    sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['holders.holder_id'], ),
    sa.PrimaryKeyConstraint('id_sha256')
    )
    with op.batch_alter_table('holder_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holder_sessions_holder_id'), ['holder_id'], unique=False)

    op.create_table('presentations',
    sa.Column('handle_sha256', sa.String(length=64), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_by', sa.String(length=80), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['holder_id'], ['holders.holder_id'], ),
    sa.PrimaryKeyConstraint('handle_sha256')
    )
    with op.batch_alter_table('presentations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presentations_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_presentations_uscc'), ['uscc'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('presentations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presentations_uscc'))
        batch_op.drop_index(batch_op.f('ix_presentations_holder_id'))

    op.drop_table('presentations')
    with op.batch_alter_table('holder_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holder_sessions_holder_id'))

    op.drop_table('holder_sessions')
    with op.batch_alter_table('holder_passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holder_passkeys_holder_id'))

    op.drop_table('holder_passkeys')
    with op.batch_alter_table('holders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holders_uscc'))
        batch_op.drop_index(batch_op.f('ix_holders_granted_by'))

    op.drop_table('holders')
    with op.batch_alter_table('holder_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holder_invitations_uscc'))

    op.drop_table('holder_invitations')
    op.drop_table('holder_ceremonies')
