"""Follow-up: SMS and email to leads and patients, consent, templates, queued jobs, summaries.

Kept free of imports: ``clinic.models`` imports :mod:`voiceagent.outreach.records`.
"""
