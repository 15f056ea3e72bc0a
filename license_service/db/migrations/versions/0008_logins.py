"""log in with the e-license: platforms (OpenID clients), login requests, codes, tokens, used assertions, logins

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('authorization_codes',
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('nonce', sa.String(length=255), nullable=True),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('share_name', sa.Integer(), nullable=False),
    sa.Column('auth_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('login_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('code_sha256')
    )
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorization_codes_client_id'), ['client_id'], unique=False)

    op.create_table('client_assertions',
    sa.Column('jti_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti_sha256')
    )
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

    op.create_table('logins',
    sa.Column('login_id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=True),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leaf_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('login_id')
    )
    with op.batch_alter_table('logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_logins_uscc'), ['uscc'], unique=False)

    op.create_table('platforms',
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=100), nullable=False),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('jwks_uri', sa.String(length=500), nullable=True),
    sa.Column('subject_salt', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('login_requests',
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('nonce_sha256', sa.String(length=64), nullable=True),
    sa.Column('handle_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('desktop_sha256', sa.String(length=64), nullable=False),
    sa.Column('match_number', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refusal', sa.String(length=64), nullable=True),
    sa.Column('holder_id', sa.String(length=32), nullable=True),
    sa.Column('share_name', sa.Integer(), nullable=False),
    sa.Column('auth_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('login_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['platforms.client_id'], ),
    sa.PrimaryKeyConstraint('request_id'),
    sa.UniqueConstraint('code_sha256'),
    sa.UniqueConstraint('handle_sha256')
    )
    with op.batch_alter_table('login_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_requests_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_requests_nonce_sha256'), ['nonce_sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('login_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_requests_nonce_sha256'))
        batch_op.drop_index(batch_op.f('ix_login_requests_client_id'))

    op.drop_table('login_requests')
    op.drop_table('platforms')
    with op.batch_alter_table('logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_logins_uscc'))

    op.drop_table('logins')
    with op.batch_alter_table('login_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_tokens_code_sha256'))

    op.drop_table('login_tokens')
    op.drop_table('client_assertions')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorization_codes_client_id'))

    op.drop_table('authorization_codes')
