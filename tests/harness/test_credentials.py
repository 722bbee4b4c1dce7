"""A run's credentials: fresh per run, each given only to the components that use it."""

from harness.run.credentials import Credentials


def test_every_run_gets_new_values_shaped_like_a_real_key() -> None:
    first, second = Credentials.fresh(), Credentials.fresh()
    assert first.api_key != second.api_key and first.admin_token != second.admin_token
    assert len(first.api_key) == 32 and int(first.api_key, 16) >= 0


def test_the_agent_gets_the_key_only_and_secrets_stay_out_of_repr() -> None:
    credentials = Credentials("k" * 32, "t0ken")
    assert credentials.agent_env() == {"DD_API_KEY": "k" * 32}
    assert credentials.backend_env() == {"DD_API_KEY": "k" * 32, "RC_BACKEND_ADMIN_TOKEN": "t0ken"}
    assert credentials.admin_headers() == {"Authorization": "Bearer t0ken"}
    assert "t0ken" not in repr(credentials) and "kkkk" not in repr(credentials)
