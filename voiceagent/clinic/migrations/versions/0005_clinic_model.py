"""clinic model: intake records, inquiry leads, waitlist offers, security events, booking rules

Revision ID: 0005
Revises: 0004

Existing rows are carried forward: every (type, provider[, room]) already used by an
appointment or hold becomes an allowed booking rule before the foreign keys that enforce
the rules are added; old lead sources map onto the fixed source types and keep their old
name in ``source_detail``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# old lead source -> source type (the old name is kept in source_detail)
_SOURCES = {
    "search": "web",
    "social": "web",
    "friend_or_family": "word_of_mouth",
    "insurance_directory": "other",
    "employer": "other",
}
_NEW_SOURCES = (
    "self_referral",
    "physician_referral",
    "word_of_mouth",
    "web",
    "workers_comp",
    "auto_injury",
    "returning_patient",
    "other",
)


def _str(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(_str("preferred_contact", 16))
        batch.add_column(
            sa.Column("sms_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("sms_consent_at", sa.DateTime(), nullable=True))
        batch.add_column(_str("emergency_contact_name", 200))
        batch.add_column(_str("emergency_contact_phone", 32))
        batch.add_column(_str("emergency_contact_relationship", 32))
        batch.add_column(_str("representative_name", 200))
        batch.add_column(_str("representative_phone", 32))
        batch.add_column(_str("representative_relationship", 32))

    with op.batch_alter_table("coverages") as batch:
        batch.add_column(sa.Column("subscriber_dob", sa.Date(), nullable=True))
        batch.add_column(_str("adjuster_extension", 16))
        batch.add_column(_str("employer", 200))
        batch.add_column(_str("carrier", 200))
        batch.add_column(_str("attorney_name", 200))
        batch.add_column(_str("attorney_phone", 32))
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("referrals") as batch:
        batch.add_column(_str("referring_practice", 200))
        batch.add_column(_str("referring_phone", 32))
        batch.add_column(_str("referring_fax", 32))
        batch.add_column(_str("condition_kind", 16))
        batch.add_column(_str("condition", 200))
        batch.add_column(sa.Column("condition_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("order_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "written_order_on_file", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )

    with op.batch_alter_table("leads") as batch:
        batch.add_column(_str("source_detail", 200))
        batch.add_column(_str("contact_first_name", 100))
        batch.add_column(_str("contact_last_name", 100))
        batch.add_column(_str("contact_phone", 32))
        batch.add_column(_str("contact_phone_key", 16))
        batch.add_column(_str("contact_email", 200))
        batch.add_column(_str("appointment_type_id", 64))
        batch.add_column(_str("payer_name", 200))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(_str("call_id", 36))
        batch.add_column(sa.Column("last_contact_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_leads_contact_phone_key"), ["contact_phone_key"])
    leads = sa.table("leads", sa.column("source", sa.String), sa.column("source_detail", sa.String))
    for old, new in _SOURCES.items():
        op.execute(
            leads.update()
            .where(leads.c.source == old)
            .values(source=new, source_detail=sa.literal(old))
        )
    op.execute(
        leads.update()
        .where(leads.c.source.is_not(None), leads.c.source.not_in(_NEW_SOURCES))
        .values(source_detail=leads.c.source, source="other")
    )

    with op.batch_alter_table("waitlist") as batch:
        batch.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch.add_column(_str("offer_hold_id", 36))
        batch.add_column(_str("offer_provider_id", 64))
        batch.add_column(sa.Column("offer_start", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("offer_end", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("offered_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("offer_expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_waitlist_lead_id_leads"), "leads", ["lead_id"], ["id"])
        batch.create_foreign_key(
            batch.f("fk_waitlist_appointment_id_appointments"),
            "appointments",
            ["appointment_id"],
            ["id"],
        )

    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_security_events_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )
    with op.batch_alter_table("security_events") as batch:
        batch.create_index(batch.f("ix_security_events_at"), ["at"])
        batch.create_index(batch.f("ix_security_events_call_id"), ["call_id"])

    op.create_table(
        "booking_rule_providers",
        sa.Column("appointment_type_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "appointment_type_id", "provider_id", name=op.f("pk_booking_rule_providers")
        ),
    )
    op.create_table(
        "booking_rule_rooms",
        sa.Column("appointment_type_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id", "provider_id"],
            ["booking_rule_providers.appointment_type_id", "booking_rule_providers.provider_id"],
            name=op.f("fk_booking_rule_rooms_appointment_type_id_booking_rule_providers"),
        ),
        sa.PrimaryKeyConstraint(
            "appointment_type_id", "provider_id", "room_id", name=op.f("pk_booking_rule_rooms")
        ),
    )
    # What is already booked or held was allowed when it was made: keep it valid.
    for table in ("appointments", "holds"):
        op.execute(
            f"INSERT INTO booking_rule_providers (appointment_type_id, provider_id)"
            f" SELECT DISTINCT t.appointment_type_id, t.provider_id FROM {table} t"
            f" WHERE NOT EXISTS (SELECT 1 FROM booking_rule_providers r"
            f" WHERE r.appointment_type_id = t.appointment_type_id"
            f" AND r.provider_id = t.provider_id)"
        )
        op.execute(
            f"INSERT INTO booking_rule_rooms (appointment_type_id, provider_id, room_id)"
            f" SELECT DISTINCT t.appointment_type_id, t.provider_id, t.room_id FROM {table} t"
            f" WHERE t.room_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM booking_rule_rooms r"
            f" WHERE r.appointment_type_id = t.appointment_type_id"
            f" AND r.provider_id = t.provider_id AND r.room_id = t.room_id)"
        )
    for table in ("appointments", "holds"):
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"fk_{table}_provider_rule",
                "booking_rule_providers",
                ["appointment_type_id", "provider_id"],
                ["appointment_type_id", "provider_id"],
            )
            batch.create_foreign_key(
                f"fk_{table}_room_rule",
                "booking_rule_rooms",
                ["appointment_type_id", "provider_id", "room_id"],
                ["appointment_type_id", "provider_id", "room_id"],
            )


def downgrade() -> None:
    for table in ("appointments", "holds"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_room_rule", type_="foreignkey")
            batch.drop_constraint(f"fk_{table}_provider_rule", type_="foreignkey")
    op.drop_table("booking_rule_rooms")
    op.drop_table("booking_rule_providers")
    op.drop_table("security_events")
    with op.batch_alter_table("waitlist") as batch:
        batch.drop_constraint("fk_waitlist_appointment_id_appointments", type_="foreignkey")
        batch.drop_constraint("fk_waitlist_lead_id_leads", type_="foreignkey")
        for name in (
            "appointment_id",
            "offer_expires_at",
            "offered_at",
            "offer_end",
            "offer_start",
            "offer_provider_id",
            "offer_hold_id",
            "lead_id",
        ):
            batch.drop_column(name)
    leads = sa.table("leads", sa.column("source", sa.String), sa.column("source_detail", sa.String))
    op.execute(
        leads.update()
        .where(leads.c.source_detail.is_not(None))
        .values(source=leads.c.source_detail)
    )
    with op.batch_alter_table("leads") as batch:
        batch.drop_index(batch.f("ix_leads_contact_phone_key"))
        for name in (
            "last_contact_at",
            "call_id",
            "reason",
            "payer_name",
            "appointment_type_id",
            "contact_email",
            "contact_phone_key",
            "contact_phone",
            "contact_last_name",
            "contact_first_name",
            "source_detail",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("referrals") as batch:
        for name in (
            "written_order_on_file",
            "order_text",
            "condition_date",
            "condition",
            "condition_kind",
            "referring_fax",
            "referring_phone",
            "referring_practice",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("coverages") as batch:
        for name in (
            "updated_at",
            "attorney_phone",
            "attorney_name",
            "carrier",
            "employer",
            "adjuster_extension",
            "subscriber_dob",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("patients") as batch:
        for name in (
            "representative_relationship",
            "representative_phone",
            "representative_name",
            "emergency_contact_relationship",
            "emergency_contact_phone",
            "emergency_contact_name",
            "sms_consent_at",
            "sms_consent",
            "preferred_contact",
        ):
            batch.drop_column(name)
