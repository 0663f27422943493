"""SMTP settings from the environment, and the failure message, without a server."""

from __future__ import annotations

import pytest

from orchestrate.alerts import AlertSettingsError, SmtpSettings, failure_email, new_anomalies_email, smtp_settings

BASE = {
    "NETFLOW_PCA_SMTP_HOST": "mail.example.com",
    "NETFLOW_PCA_SMTP_SENDER": "netflow@example.com",
    "NETFLOW_PCA_SMTP_RECIPIENTS": "soc@example.com, analyst@example.com",
}


def test_alerts_are_off_without_the_variables() -> None:
    assert smtp_settings({"HOME": "/root"}) is None
    assert smtp_settings({"NETFLOW_PCA_SMTP_HOST": " "}) is None


def test_settings_with_defaults() -> None:
    assert smtp_settings(BASE) == SmtpSettings(
        host="mail.example.com",
        port=25,
        sender="netflow@example.com",
        recipients=("soc@example.com", "analyst@example.com"),
    )


def test_security_sets_the_default_port_and_login_needs_both_halves() -> None:
    settings = smtp_settings(
        {**BASE, "NETFLOW_PCA_SMTP_SECURITY": "STARTTLS", "NETFLOW_PCA_SMTP_USER": "u", "NETFLOW_PCA_SMTP_PASSWORD": "p"}
    )
    assert settings is not None
    assert (settings.security, settings.port, settings.user, settings.password) == ("starttls", 587, "u", "p")
    settings = smtp_settings({**BASE, "NETFLOW_PCA_SMTP_SECURITY": "ssl", "NETFLOW_PCA_SMTP_PORT": "2465"})
    assert settings is not None and (settings.security, settings.port) == ("ssl", 2465)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"NETFLOW_PCA_SMTP_HOST": "mail"}, "need NETFLOW_PCA_SMTP_SENDER, NETFLOW_PCA_SMTP_RECIPIENTS as well"),
        ({**BASE, "NETFLOW_PCA_SMTP_SECURITY": "tls13"}, "SECURITY must be one of none, starttls, ssl"),
        ({**BASE, "NETFLOW_PCA_SMTP_PORT": "smtp"}, "PORT must be a port number"),
        ({**BASE, "NETFLOW_PCA_SMTP_USER": "u"}, "set both NETFLOW_PCA_SMTP_USER and NETFLOW_PCA_SMTP_PASSWORD"),
    ],
)
def test_half_configured_alerts_are_an_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(AlertSettingsError, match=message):
        smtp_settings(environ)


def test_failure_email_names_job_hours_run_and_errors() -> None:
    settings = smtp_settings(BASE)
    assert settings is not None
    message = failure_email(settings, "netflow_pca_hourly_job", "run-1", "hour 12", ["dbt failed", "step failed"])
    assert message["Subject"] == "netflow_pca: netflow_pca_hourly_job failed (hour 12)"
    assert message["From"] == "netflow@example.com"
    assert message["To"] == "soc@example.com, analyst@example.com"
    body = message.get_content()
    assert "run-1" in body and "dbt failed\nstep failed" in body


def test_the_new_anomalies_email_is_opt_in_and_needs_the_smtp_settings() -> None:
    settings = smtp_settings(BASE)
    assert settings is not None and not settings.on_new_anomalies
    settings = smtp_settings({**BASE, "NETFLOW_PCA_SMTP_NEW_ANOMALIES": "True"})
    assert settings is not None and settings.on_new_anomalies
    with pytest.raises(AlertSettingsError, match="NEW_ANOMALIES needs NETFLOW_PCA_SMTP_HOST"):
        smtp_settings({"NETFLOW_PCA_SMTP_NEW_ANOMALIES": "yes"})
    with pytest.raises(AlertSettingsError, match="NEW_ANOMALIES must be true or false, not 'sometimes'"):
        smtp_settings({**BASE, "NETFLOW_PCA_SMTP_NEW_ANOMALIES": "sometimes"})
    assert smtp_settings({"NETFLOW_PCA_SMTP_NEW_ANOMALIES": "false"}) is None


def test_new_anomalies_email_names_the_count_the_run_and_lists_them() -> None:
    settings = smtp_settings(BASE)
    assert settings is not None
    table = "| user | hour |\n|---|---|\n| a | 12 |"
    message = new_anomalies_email(settings, "netflow_pca_hourly_job", "run-2", "hours 0-23", 1, table)
    assert message["Subject"] == "netflow_pca: 1 new anomaly (hours 0-23)"
    body = message.get_content()
    assert "run-2" in body and "raised 1 new anomaly" in body and "| a | 12 |" in body
    assert new_anomalies_email(settings, "job", "run-3", "hour 5", 3, table)["Subject"] == "netflow_pca: 3 new anomalies (hour 5)"
