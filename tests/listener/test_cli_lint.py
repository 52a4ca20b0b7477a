"""`listening-post lint`: JSON out, exit 0 when the reply may go, 1 when it is blocked."""

from __future__ import annotations

import io
import json

import pytest

from listener.rules import lint_rules
from listening_post.cli.main import main


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["lint", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_clean_reply_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = lint(capsys, "--platform", "x", "Thanks for your message ^JB #CovWarks")
    assert code == 0
    assert out == {"ok": True, "findings": []}


def test_blocked_reply_exits_one_with_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = lint(capsys, "--platform", "facebook", "Your NHS number is 943 476 5919 #covwarks ^JB")
    assert code == 1
    assert out["ok"] is False
    rules = {(f["rule"], f["severity"]) for f in out["findings"]}
    assert rules == {("personal-data", "block"), ("hashtag-case", "warn")}
    (pd,) = [f for f in out["findings"] if f["rule"] == "personal-data"]
    assert (pd["start"], pd["end"]) == (19, 31)
    assert set(pd) == {"rule", "severity", "start", "end", "message", "suggestion"}


def test_bluesky_is_a_platform(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = lint(capsys, "--platform", "bluesky", "See https://www.nhs.uk/conditions/flu-vaccine/ ^JB")
    assert (code, out) == (0, {"ok": True, "findings": []})
    _, out = lint(capsys, "--platform", "bluesky", "👋🏽" * 300)  # 300 graphemes, 600 code points
    assert "length" not in {f["rule"] for f in out["findings"]}
    code, out = lint(capsys, "--platform", "bluesky", "a" * 301)
    assert code == 1 and "length" in {f["rule"] for f in out["findings"]}


def test_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Thanks 👍\n"))
    code, out = lint(capsys, "--platform", "x", "-")
    assert code == 0
    assert [f["rule"] for f in out["findings"]] == ["signature"]
    assert out["findings"][0]["start"] == len("Thanks 👍")  # the trailing newline is dropped


def test_image_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint(capsys, "--platform", "x", "--image", "New clinic ^JB")[0] == 1
    code, out = lint(capsys, "--platform", "x", "--alt", "Nurse giving a flu jab", "New clinic ^JB")
    assert (code, out["findings"]) == (0, [])


def test_no_signature_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint(capsys, "--platform", "x", "Thanks for your message")[1]["findings"][0]["rule"] == "signature"
    assert lint(capsys, "--platform", "x", "--no-signature", "Thanks for your message")[1]["findings"] == []


def test_unknown_platform_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--platform", "myspace", "hello"])
    assert exc.value.code == 2


def test_broken_config_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    (tmp_path / "lint.toml").write_text('[limits]\nmax_emoji = "lots"\n')
    monkeypatch.setattr("listener.paths.CONFIG_DIR", tmp_path)
    lint_rules.cache_clear()  # the rules are read once per process
    try:
        assert main(["lint", "--platform", "x", "hi ^JB"]) == 2
    finally:
        lint_rules.cache_clear()
    err = capsys.readouterr().err
    assert "lint.toml" in err and "max_emoji" in err and "Traceback" not in err


def test_instagram_and_linkedin_know_their_limits_and_etiquette(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = lint(capsys, "--platform", "instagram", "See https://www.nhs.uk/flu ^JB")
    assert code == 0
    assert [f["rule"] for f in out["findings"]] == ["platform-etiquette", "platform-etiquette"]
    code, out = lint(capsys, "--platform", "linkedin", "a" * 1251 + " ^JB")
    (length,) = [f for f in out["findings"] if f["rule"] == "length"]
    assert code == 1 and "the limit is 1250" in length["message"]
    code, out = lint(capsys, "--platform", "instagram", "@sam.patel " + "a" * 1251 + " ^JB")
    assert code == 0
