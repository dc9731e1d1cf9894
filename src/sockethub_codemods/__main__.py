"""``python -m sockethub_codemods`` runs ``sockethub-migrate``."""

from sockethub_codemods.cli import main

raise SystemExit(main())
