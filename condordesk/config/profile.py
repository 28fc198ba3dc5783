"""The profile schema: every key a profile may hold, its type, bounds and default.

Unknown keys are rejected. Money amounts in combo points (1.00 = $100 per condor unit) unless
the key name says dollars. Times of day are ``HH:MM`` in America/New_York.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from condordesk.config import logspec
from condordesk.domain.prices import COMBO_TICK, round_to_tick

Points = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2)]


def _on_combo_grid(value: Decimal) -> Decimal:
    """Combo prices (credits, stop offsets, the profit close) trade in 0.05 steps: an
    off-grid offset would make every stop the engine sends an off-tick price."""
    if value % COMBO_TICK != 0:
        raise ValueError(
            f"{value} is not on the {COMBO_TICK} combo price grid (use a multiple of "
            f"{COMBO_TICK}, e.g. {round_to_tick(value, COMBO_TICK, 'down')} or "
            f"{round_to_tick(value, COMBO_TICK, 'up')})"
        )
    return value


ComboPrice = Annotated[Points, AfterValidator(_on_combo_grid)]
"""A combo price or offset in points, on the combo tick grid."""


def _clock_time(value: object) -> object:
    """Times of day are "HH:MM" (or "HH:MM:SS") text in America/New_York, without a zone."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("give a time of day without a time zone (it is always New York time)")
        return value
    if not isinstance(value, str):
        raise ValueError(f'must be a time of day "HH:MM" (got {value!r})')
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f'must be a time of day "HH:MM" (got {value!r})') from None
    if parsed.tzinfo is not None:
        raise ValueError("give a time of day without a time zone (it is always New York time)")
    return parsed


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class BrokerConfig(_Section):
    """Which broker to trade through."""

    kind: Literal["sim", "ib"] = "sim"
    host: str = "127.0.0.1"
    port: StrictInt = Field(4002, ge=1, le=65535)
    client_id: StrictInt = Field(17, ge=0, le=2**31 - 1)
    account: str = ""
    connect_timeout_s: float = Field(10.0, gt=0, le=120)
    clock_speed: float = Field(1.0, gt=0, le=10_000)

    @model_validator(mode="after")
    def _ib_needs_account(self) -> Self:
        if self.kind == "ib" and not self.account:
            raise ValueError("broker.account is required when broker.kind is 'ib'")
        return self


class StrategyConfig(_Section):
    """How condors are chosen and how often."""

    target_delta: float = Field(0.10, gt=0, lt=0.5)
    delta_tolerance: float = Field(0.04, ge=0, lt=0.5)
    wing_widths: tuple[Decimal, ...] = Field((Decimal(10), Decimal(15), Decimal(20)), min_length=1)
    min_credit: ComboPrice = Decimal("1.00")
    max_credit: ComboPrice = Decimal("2.00")
    entry_concession: ComboPrice = Decimal("0.05")
    premium_balance: tuple[float, float] = (0.5, 2.0)
    contracts: int = Field(1, ge=1, le=100)
    max_concurrent: int = Field(2, ge=1, le=20)
    entry_start: ClockTime = time(9, 45)
    entry_end: ClockTime = time(14, 30)
    reentry_interval_min: int = Field(30, ge=0, le=390)
    cycle_seconds: float = Field(30.0, ge=1, le=300)
    greeks_timeout_s: float = Field(5.0, gt=0, le=60)
    greeks_max_age_s: float = Field(15.0, gt=0, le=300)

    @field_validator("wing_widths")
    @classmethod
    def _widths_on_strike_grid(cls, v: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        for w in v:
            if w <= 0 or w % 5 != 0:
                raise ValueError(f"wing widths must be positive multiples of 5 points, got {w}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_credit > self.max_credit:
            raise ValueError(f"min_credit {self.min_credit} is above max_credit {self.max_credit}")
        lo, hi = self.premium_balance
        if not 0 < lo <= 1 <= hi:
            raise ValueError("premium_balance must be [low, high] with 0 < low <= 1 <= high")
        if self.entry_start >= self.entry_end:
            raise ValueError("entry_start must be before entry_end")
        return self


class RiskConfig(_Section):
    """Stops, profit taking, expiry safety and loss limits."""

    stop_multiple: float = Field(2.0, gt=1.0, le=10.0)
    stop_limit_offset: ComboPrice = Decimal("0.50")
    stop_market_offset: ComboPrice = Decimal("0.30")
    profit_close_price: ComboPrice = Decimal("0.05")
    first_trade_profit_pct: float = Field(50.0, ge=0, lt=100)
    first_trade_window_min: int = Field(60, ge=0, le=390)
    expiry_safety_time: ClockTime = time(15, 45)
    itm_buffer_points: Points = Decimal(5)
    daily_max_loss: Decimal = Field(Decimal(1500), gt=0, description="dollars")
    fill_timeout_s: float = Field(15.0, gt=0, le=120)
    close_chase_ticks: int = Field(4, ge=0, le=40)


class ScheduleConfig(_Section):
    """Daily schedule (America/New_York)."""

    reset_time: ClockTime = time(9, 27)
    reconcile_interval_min: int = Field(5, ge=1, le=120)


class SimulatorConfig(_Section):
    """The embedded simulator (used when broker.kind is 'sim')."""

    seed: int = 1
    speed: float | Literal["max"] = 120.0
    scenario: Literal["mixed", "calm", "trend_up", "trend_down", "whipsaw", "spike"] = "mixed"
    start_date: date | None = None
    start_time: ClockTime = time(9, 25)
    sessions: int = Field(1, ge=0, le=10_000)
    spot: float = Field(6000.0, gt=100)
    atm_vol: float = Field(0.16, gt=0.01, lt=2.0)
    vix: float = Field(15.0, gt=1.0, lt=150.0)
    tick_seconds: float = Field(10.0, ge=1, le=60)
    greeks_latency_s: float = Field(0.5, ge=0, le=30)
    greeks_missing_prob: float = Field(0.02, ge=0, le=1)

    @field_validator("speed")
    @classmethod
    def _speed_positive(cls, v: float | str) -> float | str:
        if isinstance(v, float | int) and v <= 0:
            raise ValueError("speed must be positive or 'max'")
        return v


class JournalConfig(_Section):
    """The SQLite journal."""

    path: str = ""  # empty: <platformdirs data dir>/journal-<profile>.sqlite3
    retention_days: int = Field(365, ge=1, le=36500)


class LoggingConfig(_Section):
    """Logging."""

    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    file: StrictBool = True
    rotation: str = "10 MB"
    retention: str = "30 days"

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: str) -> str:
        return logspec.check_rotation(v)

    @field_validator("retention")
    @classmethod
    def _retention(cls, v: str) -> str:
        return logspec.check_retention(v)


Level = Literal["info", "warning", "critical"]
"""How much an alert matters: every alert has one; a notifier sends those at or above its
``notify.level``."""

_KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
SecretName = Annotated[str, Field(pattern=_KEY_PATTERN)]
EnvVar = Annotated[str, Field(pattern=ENV_VAR)]


class SecretsConfig(_Section):
    """Where the profile's secrets live (the values never do: only in the keyring, systemd
    credentials, or an environment variable named here)."""

    namespace: str = Field("", pattern=r"^$|^[A-Za-z0-9_.-]{1,64}$")
    env: dict[SecretName, EnvVar] = Field(default_factory=dict)


UserId = Annotated[StrictInt, Field(gt=0)]  # Telegram user ids are positive, groups' negative


class TelegramConfig(_Section):
    """The Telegram Bot API (the token and chat id are secrets, not keys here).

    Commands are authorised by the sender's user id (``allowed_user_ids``), never by the chat:
    in private chats only, unless ``allow_groups``; then also in the alert chat and in
    ``allowed_chat_ids``, still only from the listed users.
    """

    api_url: str = Field("https://api.telegram.org", pattern=r"^https?://[^\s]+$")
    request_timeout_s: float = Field(15.0, gt=0, le=120)
    commands: StrictBool = False
    allowed_user_ids: tuple[UserId, ...] = ()
    allow_groups: StrictBool = False
    allowed_chat_ids: tuple[StrictInt, ...] = ()
    poll_timeout_s: StrictInt = Field(30, ge=1, le=50)
    confirm_timeout_s: float = Field(60.0, ge=10, le=300)
    confirm_attempts: StrictInt = Field(3, ge=1, le=5)

    @model_validator(mode="after")
    def _commands_need_users(self) -> Self:
        if self.commands and not self.allowed_user_ids:
            raise ValueError(
                "notify.telegram.commands = true needs allowed_user_ids: the Telegram user ids "
                "(not chat ids) of the people who may send commands"
            )
        return self


class NotifyConfig(_Section):
    """Alerts to a phone (Telegram)."""

    enabled: StrictBool = False
    level: Level = "info"
    quiet_hours: tuple[ClockTime, ClockTime] | None = None
    quiet_level: Level = "critical"
    quiet_action: Literal["silent", "drop"] = "silent"
    daily_summary: StrictBool = True
    min_interval_s: float = Field(1.0, ge=1.0, le=3600)
    max_per_minute: StrictInt = Field(20, ge=1, le=20)
    queue_size: StrictInt = Field(100, ge=1, le=10_000)
    max_attempts: StrictInt = Field(6, ge=1, le=50)
    max_backoff_s: float = Field(300.0, ge=1, le=3600)
    telegram: TelegramConfig = TelegramConfig()

    @model_validator(mode="after")
    def _quiet_hours_differ(self) -> Self:
        if self.quiet_hours is not None and self.quiet_hours[0] == self.quiet_hours[1]:
            raise ValueError("quiet_hours must be [start, end] with start != end")
        return self


class Profile(_Section):
    """A whole profile."""

    name: str = Field("sim", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    mode: Literal["sim", "paper", "live"] = "sim"
    clock: Literal["live", "sim", "broker"] = "sim"
    broker: BrokerConfig = BrokerConfig()
    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    journal: JournalConfig = JournalConfig()
    logging: LoggingConfig = LoggingConfig()
    secrets: SecretsConfig = SecretsConfig()
    notify: NotifyConfig = NotifyConfig()

    @property
    def secrets_namespace(self) -> str:
        """The keyring namespace of this profile's secrets (``secrets.namespace``, else the
        profile name), so two accounts never share a token by accident."""
        return self.secrets.namespace or self.name

    @model_validator(mode="after")
    def _mode_matches_broker(self) -> Self:
        if self.mode == "sim" and self.broker.kind != "sim":
            raise ValueError("mode 'sim' needs broker.kind = 'sim'")
        if self.mode in ("paper", "live") and self.broker.kind != "ib":
            raise ValueError(f"mode '{self.mode}' needs broker.kind = 'ib'")
        if self.mode == "live" and self.broker.account.startswith("DU"):
            raise ValueError("mode 'live' with a paper account (DU...): use mode = 'paper'")
        return self
