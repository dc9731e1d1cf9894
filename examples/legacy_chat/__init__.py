"""The chat demo written against sockethub 0.1's managed mode (see ``app.py``).

Running it needs the deprecated facade (``sockethub/legacy.py``), and
``legacy_tests/test_legacy_chat.py`` runs it.  ``sockethub-migrate`` reads it as source
(the README's walk-through, the codemod's tests), which keeps working once 0.3 removes
the facade.
"""
