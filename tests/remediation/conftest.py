"""A writable copy of the seed-0 demo store (which holds a detection run) for each remediation test."""

from __future__ import annotations

import pytest

from analytics.store import Store


@pytest.fixture
def store(demo_store_path, tmp_path):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as s:
        yield s
