"""One model server per box: STT, LLM and TTS loaded once and served to every SIP worker.

``server.py`` serves a process's :class:`~voiceagent.speech.resources.PipelineResources` over
HTTP on loopback; ``client.py`` implements the same ``STT``, ``LLM`` and ``TTS`` protocols on
top of it, so a worker with ``models.server`` set runs the very same call and dialog code;
``wire.py`` is the format both sides speak.
"""
