"""Profiles (TOML, validated) and the platform paths they live in."""

from condordesk.config.loader import LoadedProfile, load_profile
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
    "LoadedProfile",
    "LoggingConfig",
    "Profile",
    "RiskConfig",
    "ScheduleConfig",
    "SimulatorConfig",
    "StrategyConfig",
    "load_profile",
]
