"""Print slots: the per-user and overall bounds, and a worker pool that survives a death."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.exports.print_slots import PrintBusy, PrintSlots


def test_a_user_gets_one_print_at_a_time_and_everyone_two() -> None:
    slots = PrintSlots(per_user=1, overall=2, workers=1)
    with slots.claim("ana"):
        with pytest.raises(PrintBusy, match="per user"), slots.claim("ana"):
            pass
        with slots.claim("luis"):
            with pytest.raises(PrintBusy, match="at once"), slots.claim("sofia"):
                pass
            assert slots.running == 2
    assert slots.running == 0
    with slots.claim("ana"):  # given back, also when the Print failed
        pass
    with pytest.raises(RuntimeError), slots.claim("ana"):
        raise RuntimeError("render failed")
    assert slots.running == 0


def die_the_first_time(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return "impreso"


async def test_a_dead_worker_is_replaced_and_the_print_done(tmp_path: Path) -> None:
    slots = PrintSlots(per_user=1, overall=1, workers=1)
    try:
        assert await slots.run(die_the_first_time, str(tmp_path / "marker")) == "impreso"
    finally:
        await slots.close()
