"""The chat demo: ``python -m examples.chat`` serves it on http://127.0.0.1:8000/."""
