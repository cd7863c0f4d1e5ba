"""Self-hosted AI receptionist for physical-therapy clinics."""

__version__ = "0.1.0"
