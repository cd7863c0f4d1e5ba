"""The clinic's front-office brain: configuration, store, scheduling, patients, leads.

Modules (each service function runs its own transaction, audits patient-data access with the
given :class:`~voiceagent.clinic.audit.Actor`, returns frozen dataclasses and raises a
:class:`~voiceagent.clinic.errors.ClinicError` whose message says what to offer next):

- ``config``: ``load_clinic(path) -> ClinicConfig`` (hours, providers, rooms, appointment
  types with specialty/provider/room rules, clinic blocks, room closures, payers with intake
  rules, FAQs, transfers, message categories, identity policy, clinic facts, after hours,
  lead owners, waitlist policy, disclosures, red flags, intents); ``clinic_problems(path)``.
- ``db``: ``open_store(url) -> Store`` (migrates, then engine + sessions), ``upgrade_database``.
- ``rules``: ``sync_booking_rules`` (the config's type/provider/room rules as the rows the
  database's foreign keys check).
- ``scheduling``: ``find_slots``, ``hold_slot``, ``book``, ``list_appointments``,
  ``reschedule``, ``cancel``, ``release_hold``, ``set_status``.
- ``waitlist``: ``add_to_waitlist``, ``waitlist_offers``, ``accept_offer``,
  ``decline_offer``, ``remove_from_waitlist``, ``reoffer_expired`` (offers are made by
  ``cancel`` and ``reschedule``).
- ``patients``: ``find_or_create_patient``, ``verify_identity``, ``get_patient``,
  ``add_coverage``, ``update_coverage``, ``coverages``, ``add_referral``, ``update_contact``.
- ``security``: ``record_security_event``, ``security_events``.
- ``insurance``: ``check_payer``, ``injury_rules``, ``self_pay_price``.
- ``leads``: ``record_inquiry``, ``mark_contacted``, ``open_lead``, ``move_stage``,
  ``assign_owner``, ``history``, ``import_emr_events``.
- ``messages``: ``create_message``, ``list_messages``, ``set_message_status``.
- ``calllog``: ``StoreCallLog`` (the dialog's CallLog on this store).
- ``interop``: CSV / iCalendar import, per-provider iCalendar feed, FHIR R4 export;
  ``import_command``: ``voiceagent import``.
"""
