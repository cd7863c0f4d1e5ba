"""One box, several SIP workers: who admits a call (``admission.py``) and the process that
runs the model server and the workers (``supervisor.py``)."""
