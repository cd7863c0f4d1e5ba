"""The clinic's front-office brain: configuration, store, scheduling, patients, leads.

Modules (each service function runs its own transaction, audits patient-data access with the
given :class:`~voiceagent.clinic.audit.Actor`, returns frozen dataclasses and raises a
:class:`~voiceagent.clinic.errors.ClinicError` whose message says what to offer next):

- ``config``: ``load_clinic(path) -> ClinicConfig`` (hours, providers, rooms, appointment
  types, payers, FAQs, transfers, message categories, disclosures, red flags, intents).
- ``db``: ``open_store(url) -> Store`` (migrates, then engine + sessions), ``upgrade_database``.
- ``scheduling``: ``find_slots``, ``hold_slot``, ``book``, ``list_appointments``,
  ``reschedule``, ``cancel``, ``add_to_waitlist``, ``release_hold``, ``set_status``.
- ``patients``: ``find_or_create_patient``, ``verify_identity``, ``get_patient``,
  ``add_coverage``, ``add_referral``.
- ``insurance``: ``check_payer``, ``injury_rules``, ``self_pay_price``.
- ``leads``: ``open_lead``, ``move_stage``, ``assign_owner``, ``history``,
  ``import_emr_events``.
- ``messages``: ``create_message``, ``list_messages``, ``set_message_status``.
- ``calllog``: ``StoreCallLog`` (the dialog's CallLog on this store).
- ``interop``: CSV / iCalendar import, per-provider iCalendar feed, FHIR R4 export.
"""
