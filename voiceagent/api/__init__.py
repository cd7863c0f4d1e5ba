"""The HTTP API (FastAPI): web chat and read APIs. See :func:`voiceagent.api.app.create_app`."""
