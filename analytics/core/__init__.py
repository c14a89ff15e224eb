"""What every concern shares: the data model's names (``schema``), ratings as patterns (``ratings``), the
bootstrap (``bootstrap``) and the shared statistics (``stats``: Wilson intervals, rates, BH q-values)."""
