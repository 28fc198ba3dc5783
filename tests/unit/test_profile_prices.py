"""``profile check`` refuses combo prices off the 0.05 grid (issue 12: a stop offset of 0.03
passed the check, and every stop the engine then sent was an off-tick price the broker
refuses)."""

from __future__ import annotations

import pytest

from condordesk.config.loader import check_profile
from condordesk.errors import ConfigError


@pytest.mark.parametrize(
    "key",
    [
        "risk.stop_limit_offset",
        "risk.stop_market_offset",
        "risk.profit_close_price",
        "strategy.min_credit",
        "strategy.entry_concession",
    ],
)
def test_profile_check_refuses_a_combo_price_off_the_tick_grid(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_profile("sim", [f"{key}=0.03"])
    message = str(caught.value)
    assert key in message
    assert "0.03 is not on the 0.05 combo price grid" in message
    assert "0.00 or 0.05" in message


def test_offsets_on_the_grid_pass() -> None:
    loaded = check_profile("sim", ["risk.stop_limit_offset=0.45", "risk.stop_market_offset=0.25"])
    assert str(loaded.profile.risk.stop_limit_offset) == "0.45"
    assert str(loaded.profile.risk.stop_market_offset) == "0.25"
