"""E-mail on failure: SMTP settings from environment variables, the message, sending it, and the
Dagster sensor that sends it when a run fails.

Alerts are on when NETFLOW_PCA_SMTP_HOST, NETFLOW_PCA_SMTP_SENDER and NETFLOW_PCA_SMTP_RECIPIENTS
are set, and off when none of them is. Dagster's own `make_email_on_run_failure_sensor` always logs
in over TLS; a plain relay on the local network, common for alerts, takes neither, so the security
and the login are settings here.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from dagster import DefaultSensorStatus, RunFailureSensorContext, SensorDefinition, run_failure_sensor

from orchestrate.partitions import hours_of_run

PREFIX = "NETFLOW_PCA_SMTP_"
REQUIRED = ("HOST", "SENDER", "RECIPIENTS")
SECURITY_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class AlertSettingsError(ValueError):
    """The SMTP variables are set, but not so that a message can be sent."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: str = "none"
    user: str | None = None
    password: str | None = None


def smtp_settings(environ: Mapping[str, str]) -> SmtpSettings | None:
    """The SMTP settings, or None when no alert variable is set."""
    value = {name: environ.get(PREFIX + name, "").strip() for name in (*REQUIRED, "PORT", "SECURITY", "USER", "PASSWORD")}
    if not any(value[name] for name in REQUIRED):
        return None
    missing = [PREFIX + name for name in REQUIRED if not value[name]]
    if missing:
        raise AlertSettingsError(f"e-mail alerts need {', '.join(missing)} as well (or no {PREFIX}* variable)")
    security = value["SECURITY"].lower() or "none"
    if security not in SECURITY_PORTS:
        raise AlertSettingsError(f"{PREFIX}SECURITY must be one of {', '.join(SECURITY_PORTS)}, not '{value['SECURITY']}'")
    if not (value["PORT"] or str(SECURITY_PORTS[security])).isdigit():
        raise AlertSettingsError(f"{PREFIX}PORT must be a port number, not '{value['PORT']}'")
    if bool(value["USER"]) != bool(value["PASSWORD"]):
        raise AlertSettingsError(f"set both {PREFIX}USER and {PREFIX}PASSWORD to log in, or neither")
    recipients = tuple(address.strip() for address in value["RECIPIENTS"].split(",") if address.strip())
    return SmtpSettings(
        host=value["HOST"],
        port=int(value["PORT"] or SECURITY_PORTS[security]),
        sender=value["SENDER"],
        recipients=recipients,
        security=security,
        user=value["USER"] or None,
        password=value["PASSWORD"] or None,
    )


def failure_email(settings: SmtpSettings, job: str, run_id: str, hours: str, errors: Sequence[str]) -> EmailMessage:
    """The message that a run failed: which job, hours and run, and the errors it ended with."""
    message = EmailMessage()
    message["Subject"] = f"netflow_pca: {job} failed ({hours})"
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    lines = [f"The Dagster run {run_id} of {job} ({hours}) failed.", "", *errors]
    message.set_content("\n".join(lines) + "\n")
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    tls = ssl.create_default_context()
    server: smtplib.SMTP
    if settings.security == "ssl":
        server = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30, context=tls)
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with server:
        if settings.security == "starttls":
            server.starttls(context=tls)
        if settings.user and settings.password:
            server.login(settings.user, settings.password)
        server.send_message(message)


def email_on_failure(settings: SmtpSettings) -> SensorDefinition:
    """A sensor that e-mails the recipients when a run of this code location fails."""

    @run_failure_sensor(name="netflow_pca_email_on_failure", default_status=DefaultSensorStatus.RUNNING)
    def email_on_run_failure(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        errors = []
        for event in context.get_step_failure_events():
            error = event.step_failure_data.error
            # the step's error wraps the one raised in the op (a dbt error, a bad run_date)
            while error is not None:
                errors.append(error.message.strip())
                error = error.cause
        errors.append(context.failure_event.message or "")
        send(settings, failure_email(settings, run.job_name, run.run_id, hours_of_run(run.tags), [e for e in errors if e]))

    return email_on_run_failure
