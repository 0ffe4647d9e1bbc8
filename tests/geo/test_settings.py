from pathlib import Path

import pytest

from geo.errors import ConfigError
from geo.settings import Settings


def test_defaults_and_env():
    s = Settings.from_env({"PETATPS_HOME": "/tmp/x", "PETATPS_MAX_PER_TPS": "600"})
    assert s.home == Path("/tmp/x") and s.max_per_tps == 600 and s.db_url is None


def test_production_refuses_default_key():
    with pytest.raises(ConfigError, match="PETATPS_NIK_KEY"):
        Settings.from_env({"PETATPS_ENV": "production"})
    assert Settings.from_env({"PETATPS_ENV": "production", "PETATPS_NIK_KEY": "s3cret-s3cret-s3cret"}).env == "production"


@pytest.mark.parametrize("env", [{"PETATPS_MAX_PER_TPS": "abc"}, {"PETATPS_MAX_PER_TPS": "0"},
                                 {"PETATPS_ENV": "staging"}])
def test_invalid_settings(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


@pytest.mark.parametrize("key", ["", "short"])
def test_short_nik_key_refused(key):
    with pytest.raises(ConfigError, match="at least 16"):
        Settings.from_env({"PETATPS_NIK_KEY": key})
