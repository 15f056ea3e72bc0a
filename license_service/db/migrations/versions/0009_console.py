"""console: staff, sessions, actions, replacements, prints, name index

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entity_name_grams',
    sa.Column('gram', sa.String(length=2), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.PrimaryKeyConstraint('gram', 'uscc')
    )
    op.create_table('license_prints',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('license_id', sa.String(length=96), nullable=False),
    sa.Column('form', sa.String(length=16), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('first_number', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('license_prints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_prints_license_id'), ['license_id'], unique=False)

    op.create_table('staff_actions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('division_code', sa.String(length=6), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_actions_at'), ['at'], unique=False)
        batch_op.create_index('ix_staff_actions_division_at', ['division_code', 'at'], unique=False)
        batch_op.create_index('ix_staff_actions_staff_at', ['staff_id', 'at'], unique=False)

    op.create_table('staff_members',
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('division_code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('enrol_secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('enrol_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_handle', sa.String(length=44), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('staff_id'),
    sa.UniqueConstraint('enrol_secret_sha256'),
    sa.UniqueConstraint('user_handle')
    )
    op.create_table('replacement_requests',
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('license_id', sa.String(length=96), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('new_license_id', sa.String(length=96), nullable=True),
    sa.ForeignKeyConstraint(['uscc'], ['market_entities.uscc'], ),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('replacement_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replacement_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_replacement_requests_uscc'), ['uscc'], unique=False)

    op.create_table('staff_passkeys',
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.staff_id'], ),
    sa.PrimaryKeyConstraint('credential_id')
    )
    with op.batch_alter_table('staff_passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_passkeys_staff_id'), ['staff_id'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id_sha256', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('csrf', sa.String(length=44), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.staff_id'], ),
    sa.PrimaryKeyConstraint('id_sha256')
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('market_entities', schema=None) as batch_op:
        batch_op.create_index('ix_market_entities_kind_uscc', ['entity_kind', 'uscc'], unique=False)

    # the name index over the entities already registered (db/name_index.py keeps it from now on)
    conn = op.get_bind()
    grams = sa.table('entity_name_grams', sa.column('gram', sa.String), sa.column('uscc', sa.String))
    rows = []
    for uscc, name in conn.execute(sa.text("SELECT uscc, name FROM market_entities WHERE name IS NOT NULL")):
        folded = name.casefold()
        rows += [{"gram": g, "uscc": uscc} for g in sorted({folded[i:i + 2] for i in range(len(folded) - 1)})]
        if len(rows) > 5000:
            op.bulk_insert(grams, rows)
            rows = []
    if rows:
        op.bulk_insert(grams, rows)


def downgrade() -> None:
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_staff_id'))

    op.drop_table('staff_sessions')
    with op.batch_alter_table('staff_passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_passkeys_staff_id'))

    op.drop_table('staff_passkeys')
    with op.batch_alter_table('replacement_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replacement_requests_uscc'))
        batch_op.drop_index(batch_op.f('ix_replacement_requests_status'))

    op.drop_table('replacement_requests')
    op.drop_table('staff_members')
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_actions_staff_at')
        batch_op.drop_index('ix_staff_actions_division_at')
        batch_op.drop_index(batch_op.f('ix_staff_actions_at'))

    op.drop_table('staff_actions')
    with op.batch_alter_table('license_prints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_license_prints_license_id'))

    op.drop_table('license_prints')
    op.drop_table('entity_name_grams')
    with op.batch_alter_table('market_entities', schema=None) as batch_op:
        batch_op.drop_index('ix_market_entities_kind_uscc')
