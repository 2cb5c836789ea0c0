"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('bot_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('api_key_env', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('current_prompt_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bot_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_target_name'), ['name'], unique=True)

    op.create_table('export_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('out_dir', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_key'), ['key'], unique=False)

    op.create_table('rubric_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=32), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rubric_id', 'version', 'sha256')
    )
    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rubric_version_rubric_id'), ['rubric_id'], unique=False)

    op.create_table('scenario_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('risk_level', sa.String(length=32), nullable=False),
    sa.Column('writer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    with op.batch_alter_table('scenario_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_snapshot_scenario_id'), ['scenario_id'], unique=False)

    op.create_table('prompt_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_target_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bot_target_id'], ['bot_target.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_target_id', 'sha256')
    )
    with op.batch_alter_table('prompt_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_version_bot_target_id'), ['bot_target_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_version_sha256'), ['sha256'], unique=False)

    op.create_table('training_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('overlap', sa.Integer(), nullable=False),
    sa.Column('exposure_cap', sa.Integer(), nullable=False),
    sa.Column('scenario_ids', sa.JSON(), nullable=False),
    sa.Column('bot_target_ids', sa.JSON(), nullable=False),
    sa.Column('prompt_version_ids', sa.JSON(), nullable=False),
    sa.Column('expert_rubric_version_id', sa.Integer(), nullable=True),
    sa.Column('panel_rubric_version_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['expert_rubric_version_id'], ['rubric_version.id'], ),
    sa.ForeignKeyConstraint(['panel_rubric_version_id'], ['rubric_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('group', sa.String(length=32), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('training_day_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['training_day_id'], ['training_day.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_code'), ['code'], unique=True)

    op.create_table('run',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('bot_target_id', sa.Integer(), nullable=False),
    sa.Column('prompt_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('scenario_ids', sa.JSON(), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['bot_target_id'], ['bot_target.id'], ),
    sa.ForeignKeyConstraint(['prompt_version_id'], ['prompt_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('training_day_id', sa.Integer(), nullable=True),
    sa.Column('scenario_snapshot_id', sa.Integer(), nullable=True),
    sa.Column('bot_target_id', sa.Integer(), nullable=True),
    sa.Column('prompt_version_id', sa.Integer(), nullable=True),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('repeat_index', sa.Integer(), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('consent_to_use', sa.Boolean(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['bot_target_id'], ['bot_target.id'], ),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['prompt_version_id'], ['prompt_version.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ),
    sa.ForeignKeyConstraint(['scenario_snapshot_id'], ['scenario_snapshot.id'], ),
    sa.ForeignKeyConstraint(['training_day_id'], ['training_day.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'scenario_snapshot_id', 'repeat_index')
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_training_day_id'), ['training_day_id'], unique=False)

    op.create_table('join_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('training_day_id', sa.Integer(), nullable=False),
    sa.Column('valid_on', sa.Date(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['training_day_id'], ['training_day.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('join_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_code_code_hash'), ['code_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_join_code_training_day_id'), ['training_day_id'], unique=False)

    op.create_table('turn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('author_participant_id', sa.Integer(), nullable=True),
    sa.Column('consent_to_use', sa.Boolean(), nullable=True),
    sa.Column('prompt_version_id', sa.Integer(), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('latency_first_token_ms', sa.Float(), nullable=True),
    sa.Column('latency_total_ms', sa.Float(), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['author_participant_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['prompt_version_id'], ['prompt_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'index')
    )
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_turn_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('curated_example',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('ideal_reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['turn_id'], ['turn.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['participant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('turn_id')
    )
    op.create_table('pairwise_judgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('turn_a_id', sa.Integer(), nullable=False),
    sa.Column('turn_b_id', sa.Integer(), nullable=False),
    sa.Column('left_turn_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['left_turn_id'], ['turn.id'], ),
    sa.ForeignKeyConstraint(['rater_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['turn_a_id'], ['turn.id'], ),
    sa.ForeignKeyConstraint(['turn_b_id'], ['turn.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rater_id', 'turn_a_id', 'turn_b_id')
    )
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('overall', sa.Float(), nullable=True),
    sa.Column('unsafe', sa.Boolean(), nullable=False),
    sa.Column('unsafe_flag', sa.Boolean(), nullable=False),
    sa.Column('unsafe_span', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('ideal_reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('time_spent_s', sa.Float(), nullable=True),
    sa.Column('judge_model', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('judge_prompt_sha', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['rater_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_version.id'], ),
    sa.ForeignKeyConstraint(['turn_id'], ['turn.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rater_id', 'turn_id', 'rubric_version_id', name='uq_rating_once')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_rater_id'), ['rater_id'], unique=False)
        batch_op.create_index('ix_rating_turn_status', ['turn_id', 'status'], unique=False)

    op.create_table('adjudication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('adjudicator_id', sa.Integer(), nullable=False),
    sa.Column('final_values', sa.JSON(), nullable=False),
    sa.Column('final_overall', sa.Float(), nullable=True),
    sa.Column('unsafe', sa.Boolean(), nullable=False),
    sa.Column('final_ideal_reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('chosen_from_rating_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['adjudicator_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['chosen_from_rating_id'], ['rating.id'], ),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['rubric_version.id'], ),
    sa.ForeignKeyConstraint(['turn_id'], ['turn.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('adjudication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adjudication_turn_id'), ['turn_id'], unique=False)

    op.create_table('rating_score',
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], ),
    sa.PrimaryKeyConstraint('rating_id', 'criterion')
    )



def downgrade() -> None:

    op.drop_table('rating_score')
    with op.batch_alter_table('adjudication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjudication_turn_id'))

    op.drop_table('adjudication')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_turn_status')
        batch_op.drop_index(batch_op.f('ix_rating_rater_id'))

    op.drop_table('rating')
    op.drop_table('pairwise_judgement')
    op.drop_table('curated_example')
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_turn_conversation_id'))

    op.drop_table('turn')
    with op.batch_alter_table('join_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_code_training_day_id'))
        batch_op.drop_index(batch_op.f('ix_join_code_code_hash'))

    op.drop_table('join_code')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_training_day_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_run_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_participant_id'))

    op.drop_table('conversation')
    op.drop_table('run')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_code'))

    op.drop_table('participant')
    op.drop_table('training_day')
    with op.batch_alter_table('prompt_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_version_sha256'))
        batch_op.drop_index(batch_op.f('ix_prompt_version_bot_target_id'))

    op.drop_table('prompt_version')
    with op.batch_alter_table('scenario_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_snapshot_scenario_id'))

    op.drop_table('scenario_snapshot')
    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rubric_version_rubric_id'))

    op.drop_table('rubric_version')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_key'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_at'))

    op.drop_table('login_attempt')
    op.drop_table('export_record')
    with op.batch_alter_table('bot_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_target_name'))

    op.drop_table('bot_target')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')

