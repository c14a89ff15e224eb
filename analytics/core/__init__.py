"""What every concern shares: the data model's names (``schema``), ratings as patterns (``ratings``), the
bootstrap (``bootstrap``), the shared statistics (``stats``: Wilson intervals, rates, BH q-values) and CSV a
spreadsheet cannot run (``csv_export``)."""
