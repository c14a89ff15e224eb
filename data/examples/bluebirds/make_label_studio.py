"""Write ``bluebirds.label-studio.json``: the bluebirds labels (Welinder et al. 2010) as a Label Studio JSON
export, the example of the README's tutorial.

Usage (from the repository's root)::

    .venv/bin/python data/examples/bluebirds/make_label_studio.py

Every task is one image (``data.item_id``, the source's image id); every annotation is one worker's answer,
``completed_by`` the worker's id, one ``choices`` result with the source's label, ``true`` or ``false``. The
source has no times: they are made up here. Worker k (in the source's order) labels on day k mod 14 from
2026-11-02, from 09:00 UTC, one image every 30 seconds in an order of its own (shuffled with the worker's id
as the seed), so that no image order is shared by every worker; trends over time in this example mean
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def labels(path: Path) -> dict[str, dict[str, str]]:
    """worker → {image → "true"/"false"}, from the source's flat YAML map of maps."""
    found: dict[str, dict[str, str]] = {}
    worker = None
    for line in path.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^(\d+):\s*\{", line)
        if head:
            worker = head.group(1)
            found[worker] = {}
        for image, value in re.findall(r"(\d+):\s*(true|false)", line[head.end():] if head else line):
            found[worker][image] = value
    return found


def export(by_worker: dict[str, dict[str, str]]) -> list[dict]:
    tasks: dict[str, dict] = {}
    for k, (worker, answers) in enumerate(by_worker.items()):
        began = START + dt.timedelta(days=k % 14)
        order = sorted(answers)
        random.Random(int(worker)).shuffle(order)
        for n, image in enumerate(order):
            value = answers[image]
            task = tasks.setdefault(image, {"id": int(image), "data": {"item_id": image}, "annotations": []})
            task["annotations"].append({
                "completed_by": int(worker),
                "created_at": (began + dt.timedelta(seconds=30 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "result": [{"type": "choices", "from_name": "label", "to_name": "image",
                            "value": {"choices": [value]}}],
            })
    return list(tasks.values())


if __name__ == "__main__":
    out = HERE / "bluebirds.label-studio.json"
    out.write_text(json.dumps(export(labels(HERE / "labels.yaml")), separators=(",", ":")) + "\n",
                   encoding="utf-8")
    print(f"wrote {out}")
