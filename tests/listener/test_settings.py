import json
from pathlib import Path

import pytest

from listener.errors import UserError
from listener.settings import load_settings, mask_url, masked_view
from listening_post.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


def test_the_example_file_is_valid():
    settings = load_settings(EXAMPLE)
    assert settings.sla.target_minutes(1) == 60
    assert settings.sources[0].key.startswith("x:mentions:@")


def test_config_check_exits_zero_on_the_example(capsys):
    assert main(["config", "check", str(EXAMPLE)]) == 0
    assert json.loads(capsys.readouterr().out)["general"]["timezone"] == "Europe/London"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[sla]\nurgent_minutes = 'soon'\n", "sla.urgent_minutes: Input should be a valid integer"),
        ("[sla]\nurgent_mins = 5\n", "sla.urgent_mins: unknown key"),
        (
            "[polling]\ndefault_interval_seconds = 1\n",
            "polling.default_interval_seconds: Input should be greater",
        ),
        ("[[sources]]\nkey = 'myspace:me'\n", "sources[0].key: Value error, must start with one of"),
        (
            "[facebook]\ngraph_api_version = 'latest'\n",
            "facebook.graph_api_version: Value error, must look like v21.0",
        ),
        ("[linkedin]\napi_version = '2024-10'\n", "linkedin.api_version: Value error, must look like 202610"),
        ("[secrets]\nx_bearer_token = 'abc'\n", "secrets: not allowed in the file"),
        ("[general\n", "not valid TOML"),
    ],
)
def test_a_bad_file_gets_one_clear_line(tmp_path, capsys, toml, expected):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err and expected in err
    assert "Traceback" not in err


def test_a_missing_file_is_named():
    with pytest.raises(UserError, match="nope.toml: file not found"):
        load_settings("nope.toml")


def test_secrets_come_from_the_environment_or_a_file_and_are_masked(tmp_path, capsys, monkeypatch):
    secret_file = tmp_path / "token"
    secret_file.write_text("fb-page-token-very-secret\n")
    monkeypatch.setenv("LISTENING_POST_X_BEARER_TOKEN", "AAAA-bearer-token-very-secret")
    monkeypatch.setenv("LISTENING_POST_FACEBOOK_PAGE_TOKEN_FILE", str(secret_file))
    settings = load_settings(EXAMPLE)
    assert settings.secrets.x_bearer_token.get_secret_value() == "AAAA-bearer-token-very-secret"
    assert settings.secrets.facebook_page_token.get_secret_value() == "fb-page-token-very-secret"
    assert "very-secret" not in repr(settings)
    assert main(["config", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out
    assert json.loads(out)["secrets"]["x_bearer_token"] == "A...t"


def test_alert_urls_are_masked():
    assert mask_url("mailtos://alerts:hunter2hunter2@smtp.example.nhs.uk?to=a@b") == (
        "mailtos://a...s:****@smtp.example.nhs.uk?to=a@b"
    )
    assert "T0KEN" not in mask_url("slack://T0KENAAA/B0KENBBB/C0KENCCC")


def test_masked_view_masks_alert_urls(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[alerts]\nleads = ["mailtos://user:supersecretpw@mail.example?to=x@y"]\n')
    assert "supersecretpw" not in json.dumps(masked_view(load_settings(path)))
