"""``profile check`` refuses log settings that would stop the engine at start (issue 13:
``logging.rotation = "xyz"`` passed the check, then the engine died with a traceback)."""

from __future__ import annotations

import pytest

from condordesk.config.loader import check_profile
from condordesk.errors import ConfigError

ROTATIONS = ["10 MB", "500 KB", "1 GB", "1 week", "12 hours", "00:00", "monday at 12:00", "daily"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("logging.rotation", '"xyz"', "cannot rotate the log by 'xyz'"),
        ("logging.rotation", '""', "cannot rotate the log by ''"),
        ("logging.rotation", '"0 MB"', "cannot rotate the log by '0 MB'"),
        ("logging.rotation", '"25:99"', "cannot rotate the log by '25:99'"),
        ("logging.retention", '"xyz"', "cannot keep logs for 'xyz'"),
        ("logging.retention", '"10"', "cannot keep logs for '10'"),
        ("logging.level", '"LOUD"', "logging.level"),
    ],
)
def test_profile_check_refuses_log_settings_the_engine_cannot_use(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_profile("sim", [f"{key}={value}"])
    assert key in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_every_documented_rotation_passes_and_the_engine_can_use_it(
    rotation: str, tmp_path: object
) -> None:
    from pathlib import Path

    from loguru import logger

    loaded = check_profile("sim", [f'logging.rotation="{rotation}"', 'logging.retention="2 weeks"'])
    assert loaded.profile.logging.rotation == rotation
    sink = logger.add(Path(str(tmp_path)) / "x.log", rotation=rotation, retention="2 weeks")
    logger.remove(sink)
