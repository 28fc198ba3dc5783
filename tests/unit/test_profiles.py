"""Profiles: the example files, lookup, overrides, error messages, the TOML dump, the paths."""

from __future__ import annotations

import stat
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from condordesk.config import LoadedProfile, Profile, load_profile, paths
from condordesk.config.loader import available_profiles, check_profile, effective_toml
from condordesk.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "profiles"
BUILTIN_SIM = REPO / "condordesk" / "config" / "builtin" / "sim.toml"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CONDORDESK_HOME: the real user dirs are never read."""
    root = tmp_path / "home"
    monkeypatch.setenv("CONDORDESK_HOME", str(root))
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def user_profile(name: str, text: str) -> Path:
    return write(paths.profiles_dir() / f"{name}.toml", text)


def config_error(*args: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_profile(*args)
    return str(info.value)


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


# --- the example profiles ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sim", "paper", "live"])
def test_every_example_profile_validates(name: str) -> None:
    loaded = load_profile(str(EXAMPLES / f"{name}.toml"))

    assert loaded.profile.name == name
    assert loaded.profile.mode == name
    assert loaded.source == str(EXAMPLES / f"{name}.toml")


@pytest.mark.parametrize(
    ("name", "differences"),
    [
        ("sim", {}),
        (
            "paper",
            {
                "name": "paper",
                "mode": "paper",
                "clock": "live",
                "broker.kind": "ib",
                "broker.account": "DU0000000",
            },
        ),
        (
            "live",
            {
                "name": "live",
                "mode": "live",
                "clock": "live",
                "broker.kind": "ib",
                "broker.port": 4001,
                "broker.account": "U0000000",
                "strategy.max_concurrent": 1,
            },
        ),
    ],
)
def test_example_profiles_differ_from_the_schema_defaults_only_where_they_must(
    name: str, differences: dict[str, Any]
) -> None:
    defaults = flat(Profile().model_dump())
    loaded = flat(load_profile(str(EXAMPLES / f"{name}.toml")).profile.model_dump())

    changed = {key: value for key, value in loaded.items() if defaults[key] != value}

    assert changed == differences


@pytest.mark.parametrize("name", ["sim", "paper", "live"])
def test_example_profiles_carry_every_schema_key_with_a_comment(name: str) -> None:
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    present = flat(tomllib.loads(text))

    for key in flat(Profile().model_dump(exclude_none=False)):
        leaf = key.rpartition(".")[2]
        assert key in present or f"# {leaf} = " in text, f"{name}.toml lacks {key}"
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith(("#", "[")):
            above = number - 1  # a group of keys may share the comment above the group
            while above >= 0 and "=" in lines[above] and not lines[above].startswith("#"):
                above -= 1
            assert lines[above].startswith("#"), f"{name}.toml: {line!r} has no comment"


def test_live_example_says_that_live_trading_needs_the_live_flag() -> None:
    header = (EXAMPLES / "live.toml").read_text(encoding="utf-8").split("\n\n")[0]

    assert "--live" in header


def test_builtin_sim_is_byte_identical_to_the_example() -> None:
    assert BUILTIN_SIM.read_bytes() == (EXAMPLES / "sim.toml").read_bytes()


# --- finding profiles ----------------------------------------------------------------------


def test_builtin_sim_loads_with_no_user_file() -> None:
    loaded = load_profile()

    assert loaded == LoadedProfile(Profile(), "builtin:sim")
    assert load_profile("sim") == loaded
    assert check_profile("sim") == loaded


def test_a_user_file_overrides_the_builtin_of_the_same_name(home: Path) -> None:
    path = user_profile("sim", "[strategy]\ncontracts = 3\n")

    loaded = load_profile("sim")

    assert path.is_relative_to(home)
    assert loaded.source == str(path)
    assert loaded.profile.strategy.contracts == 3
    assert loaded.profile.name == "sim"


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path / "my-sim.toml", "")

    assert load_profile(str(path)).profile.name == "my-sim"
    assert load_profile(str(write(tmp_path / "b.toml", 'name = "other"'))).profile.name == "other"


def test_a_name_taken_from_the_file_stem_must_still_be_valid(tmp_path: Path) -> None:
    path = write(tmp_path / "my sim.toml", "")

    message = config_error(str(path))

    assert "name: must match the pattern" in message
    assert "taken from the file name" in message


def test_a_missing_profile_name_lists_where_it_looked_and_what_exists() -> None:
    user_profile("paper", 'mode = "paper"\n[broker]\nkind = "ib"\naccount = "DU1"\n')

    message = config_error("papr")

    assert "no profile named 'papr'" in message
    assert str(paths.profiles_dir() / "papr.toml") in message
    assert "available: paper, sim (builtin)" in message
    assert set(available_profiles()) == {"paper", "sim"}


def test_a_missing_profile_path_is_an_error(tmp_path: Path) -> None:
    assert config_error(str(tmp_path / "nope.toml")).endswith("nope.toml: profile file not found")
    assert "not found" in config_error("nope.toml")


def test_an_unreadable_profile_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    binary = tmp_path / "latin1.toml"
    binary.write_bytes(b'name = "caf\xe9"\n')

    assert "cannot read the profile" in config_error(str(tmp_path / "dir.toml"))
    assert f"{binary}: not UTF-8 text" in config_error(str(binary))
    assert "empty profile name" in config_error("")


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", '[broker]\nport = 4002\nhost = = "x"\n')

    message = config_error(str(path))

    assert message == f"{path}: line 3, column 8: invalid TOML: Invalid value"


# --- validation messages -------------------------------------------------------------------


def test_an_unknown_key_is_named_in_dotted_form_with_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "x.toml", "[strategy]\ntarget_dlta = 0.1\n")

    message = config_error(str(path))

    assert message.startswith(
        f"{path}: strategy.target_dlta: unknown key "
        "(allowed: target_delta, delta_tolerance, wing_widths, "
    )
    assert "did you mean 'target_delta'?" in message


def test_an_unknown_table_is_named_with_the_allowed_tables(tmp_path: Path) -> None:
    path = write(tmp_path / "x.toml", "[brokr]\nport = 1\n")

    message = config_error(str(path))

    assert message.startswith(f"{path}: brokr: unknown key (allowed: name, mode, clock, broker,")


def test_bad_values_name_key_and_bound_one_line_each(tmp_path: Path) -> None:
    text = (
        '[broker]\nport = 70000\n[strategy]\ncontracts = 0\nentry_start = "9h"\n'
        '[simulator]\nscenario = "wild"\nspeed = "fast"\n'
    )
    path = write(tmp_path / "x.toml", text)

    lines = config_error(str(path)).splitlines()

    assert lines == [
        f"{path}: broker.port: must be <= 65535 (got 70000)",
        f"{path}: strategy.contracts: must be >= 1 (got 0)",
        f"{path}: strategy.entry_start: must be a time of day \"HH:MM\" (got '9h')",
        f"{path}: simulator.speed: must be a number or 'max' (got 'fast')",
        f"{path}: simulator.scenario: must be one of 'mixed', 'calm', 'trend_up', "
        "'trend_down', 'whipsaw', 'spike' (got 'wild')",
    ]


def test_ib_without_an_account_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "x.toml", 'mode = "paper"\nclock = "live"\n[broker]\nkind = "ib"\n')

    assert config_error(str(path)) == (
        f"{path}: broker.account is required when broker.kind is 'ib'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('mode = "paper"', "mode 'paper' needs broker.kind = 'ib'"),
        ('[broker]\nkind = "ib"\naccount = "DU1"', "mode 'sim' needs broker.kind = 'sim'"),
        (
            'mode = "live"\n[broker]\nkind = "ib"\naccount = "DU1"',
            "mode 'live' with a paper account (DU...): use mode = 'paper'",
        ),
    ],
)
def test_mode_and_broker_must_agree(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "x.toml", text)

    assert config_error(str(path)) == f"{path}: {expected}"


# --- overrides -----------------------------------------------------------------------------


def test_override_values_are_read_as_toml_when_they_parse() -> None:
    profile = load_profile(
        None,
        [
            "broker.port=4001",
            "strategy.wing_widths=[10, 20]",
            "simulator.speed=max",
            "simulator.start_date=2025-03-14",
            "strategy.entry_start=10:00",
            'broker.account="12345"',
        ],
    ).profile

    assert profile.broker.port == 4001
    assert profile.strategy.wing_widths == (Decimal(10), Decimal(20))
    assert profile.simulator.speed == "max"
    assert profile.simulator.start_date == date(2025, 3, 14)
    assert profile.strategy.entry_start == time(10, 0)
    assert profile.broker.account == "12345"


def test_override_values_fall_back_to_plain_strings() -> None:
    profile = load_profile(
        None, ["logging.rotation=1 day", "broker.host = 10.0.0.5", "journal.path="]
    ).profile

    assert profile.logging.rotation == "1 day"
    assert profile.broker.host == "10.0.0.5"
    assert profile.journal.path == ""


def test_nested_overrides_turn_a_profile_into_another_and_the_last_one_wins() -> None:
    loaded = load_profile(
        "sim",
        [
            "mode=paper",
            "clock=live",
            "broker.kind=ib",
            "broker.account=DU111",
            "broker.account=DU222",
        ],
    )

    assert loaded.source == "builtin:sim"
    assert loaded.profile.mode == "paper"
    assert loaded.profile.broker.account == "DU222"


def test_an_unknown_key_set_by_an_override_is_rejected_and_blamed_on_it() -> None:
    message = config_error(None, ["strategy.target_dlta=0.1"])

    assert message.startswith(
        "--set strategy.target_dlta=0.1: strategy.target_dlta: unknown key (allowed: target_delta,"
    )


def test_a_bad_override_value_is_blamed_on_the_override() -> None:
    assert config_error(None, ["broker.port=70000"]) == (
        "--set broker.port=70000: broker.port: must be <= 65535 (got 70000)"
    )


def test_a_check_an_override_broke_names_the_file_and_the_override() -> None:
    assert config_error(None, ["mode=paper"]) == (
        "builtin:sim (with --set mode=paper): mode 'paper' needs broker.kind = 'ib'"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("broker.port", "--set broker.port: expected KEY=VALUE"),
        ("=4002", "--set =4002: empty key"),
        ("broker..port=1", "--set broker..port=1: empty key"),
        ("mode.kind=ib", "--set mode.kind=ib: mode is a value, not a table"),
        ("broker.port.x=1", "--set broker.port.x=1: broker.port is a value, not a table"),
    ],
)
def test_a_malformed_override_is_named(override: str, expected: str) -> None:
    assert config_error(None, [override]).startswith(expected)


def test_a_lone_override_string_is_one_override() -> None:
    assert load_profile(None, "broker.port=4001").profile.broker.port == 4001


# --- the effective TOML --------------------------------------------------------------------


def reload(tmp_path: Path, profile: Profile) -> Profile:
    text = effective_toml(profile)
    tomllib.loads(text)  # valid TOML on its own
    return load_profile(str(write(tmp_path / "effective.toml", text))).profile


@pytest.mark.parametrize("name", ["sim", "paper", "live"])
def test_effective_toml_round_trips_the_examples(tmp_path: Path, name: str) -> None:
    profile = load_profile(str(EXAMPLES / f"{name}.toml")).profile

    assert reload(tmp_path, profile) == profile


def test_effective_toml_round_trips_unusual_values(tmp_path: Path) -> None:
    profile = load_profile(
        None,
        [
            "simulator.speed=max",
            "simulator.start_date=2025-03-14",
            "strategy.entry_start=09:45:30",
            "strategy.wing_widths=[5, 25]",
            "strategy.min_credit=0.35",
            "strategy.max_credit=123456.75",
            "risk.daily_max_loss=1234.5",
            "simulator.atm_vol=1e-1",
            'journal.path="~/a \\"quoted\\" path\\\\with\\ttab and é"',
            "logging.rotation=00:00",
        ],
    ).profile

    assert reload(tmp_path, profile) == profile


def test_effective_toml_writes_times_dates_and_decimals_readably() -> None:
    profile = load_profile(None, ["simulator.start_date=2025-03-14"]).profile

    text = effective_toml(profile)

    assert text.startswith('name = "sim"\nmode = "sim"\nclock = "sim"\n\n[broker]\n')
    assert 'entry_start = "09:45"\n' in text
    assert 'start_date = "2025-03-14"\n' in text
    assert "wing_widths = [10, 15, 20]\n" in text
    assert "min_credit = 1.0" in text  # a TOML number, not a string


def test_effective_toml_leaves_out_none() -> None:
    assert "start_date" not in effective_toml(Profile())


# --- paths ---------------------------------------------------------------------------------


def test_every_dir_lives_under_condordesk_home(home: Path) -> None:
    assert paths.config_dir() == home / "config"
    assert paths.data_dir() == home / "data"
    assert paths.log_dir() == home / "log"
    assert paths.cache_dir() == home / "cache"
    assert paths.runtime_dir() == home / "run"
    assert paths.profiles_dir() == home / "config" / "profiles"
    assert not home.exists()  # computing a path creates nothing


def test_without_condordesk_home_the_platform_dirs_are_named_after_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONDORDESK_HOME")

    for directory in (paths.config_dir(), paths.data_dir(), paths.cache_dir()):
        assert "condordesk" in directory.parts


def test_ensure_creates_private_dirs_and_leaves_existing_ones_alone(
    home: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)

    run = paths.ensure(paths.runtime_dir())
    nested = paths.ensure(shared / "a" / "b")

    for directory in (home, run, shared / "a", nested):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert paths.ensure(run) == run


def test_ensure_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    write(tmp_path / "file", "")

    with pytest.raises(OSError, match="not a directory"):
        paths.ensure(tmp_path / "file")


def test_journal_path_defaults_to_the_data_dir(home: Path) -> None:
    assert paths.journal_path(load_profile().profile) == home / "data" / "journal-sim.sqlite3"


def test_journal_path_from_the_profile_expands_the_home_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    profile = load_profile(None, ["journal.path=~/j/sim.sqlite3"]).profile

    assert paths.journal_path(profile) == tmp_path / "j" / "sim.sqlite3"
