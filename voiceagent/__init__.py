"""Self-hosted AI receptionist for physical-therapy clinics."""

from voiceagent.speech.cpu import prefer_passive_threads

# before any model runtime (and its OpenMP) loads, whichever module imports it first
prefer_passive_threads()

__version__ = "0.1.0"
