"""The command line: every subcommand has help, and bad input is one line, never a traceback."""

from __future__ import annotations

import importlib.metadata

import pytest

from orchestrate.cli import COMMANDS, main
from orchestrate.tests.conftest import run_cli


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    assert f"usage: netflow-pca {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--hours", "25"], "netflow-pca run: --hours: '25' is outside 0-23 or runs backwards"),
        (["run", "--run-date", "2017-02-30"], "netflow-pca run: --run-date: '2017-02-30' is not a date as YYYY-MM-DD"),
        (["run", "--threads", "0"], "netflow-pca run: argument --threads: '0' is not a whole number of at least 1"),
        (["run", "--lookback-days", "100000"], "netflow-pca run: argument --lookback-days: '100000' is more than 36600 days"),
        (["run", "--var", "src_ip=1"], "netflow-pca run: --var: the project has no var 'src_ip'"),
        (["run", "--vars", "[1]"], "netflow-pca run: --vars: expected a mapping"),
        (["db", "restart"], "netflow-pca db: argument action: invalid choice: 'restart'"),
        (["bogus"], "netflow-pca: argument COMMAND: invalid choice: 'bogus'"),
        ([], "netflow-pca: the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code: int | str | None
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


def test_bench_without_its_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    installed = importlib.metadata.version

    def version(name: str) -> str:
        if name == "numpy":
            raise importlib.metadata.PackageNotFoundError(name)
        return installed(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert main(["bench", "pca"]) == 2
    assert capsys.readouterr().err == (
        "netflow-pca bench: the benchmarks need the bench extra (numpy missing): pip install -e '.[bench]'\n"
    )


def test_retry_without_a_recorded_run_says_so(server_env: dict[str, str], tmp_path: object) -> None:
    result = run_cli({**server_env, "DBT_TARGET_PATH": str(tmp_path)}, "retry")
    assert result.returncode == 2
    assert result.stderr.startswith("netflow-pca retry: no run is recorded in ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
