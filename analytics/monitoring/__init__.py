"""Monitoring label quality over the store: the Overview (``overview``), annotator reliability
(``annotators``), slice-level noise (``slices``), temporal drift (``drift``) and the CLI summary
(``summary``)."""
