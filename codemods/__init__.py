"""The tests and corpus of ``sockethub-migrate`` (the package itself is src/sockethub_codemods)."""
