"""Profiles (TOML, validated) and the platform paths they live in."""

from condordesk.config.profile import (
    BrokerConfig,
    JournalConfig,
    LoggingConfig,
    Profile,
    RiskConfig,
    ScheduleConfig,
    SimulatorConfig,
    StrategyConfig,
)

__all__ = [
    "BrokerConfig",
    "JournalConfig",
    "LoggingConfig",
    "Profile",
    "RiskConfig",
    "ScheduleConfig",
    "SimulatorConfig",
    "StrategyConfig",
]
