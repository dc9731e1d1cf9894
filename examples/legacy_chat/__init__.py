"""The chat demo written against sockethub 0.1's managed mode (see ``app.py``)."""
