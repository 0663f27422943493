"""E-mail on failure, and (opt-in) on success with new anomalies: SMTP settings from environment
variables, the messages, sending them, and the Dagster sensors that send them.

Alerts are on when NETFLOW_PCA_SMTP_HOST, NETFLOW_PCA_SMTP_SENDER and NETFLOW_PCA_SMTP_RECIPIENTS
are set, and off when none of them is. NETFLOW_PCA_SMTP_NEW_ANOMALIES=true adds the e-mail of a
successful run that raised new anomalies, with the same settings. Dagster's own `make_email_on_run_failure_sensor` always logs
in over TLS; a plain relay on the local network, common for alerts, takes neither, so the security
and the login are settings here.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    run_failure_sensor,
    run_status_sensor,
)

from orchestrate.partitions import hours_of_run

PREFIX = "NETFLOW_PCA_SMTP_"
REQUIRED = ("HOST", "SENDER", "RECIPIENTS")
SECURITY_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
SWITCH_VALUES = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False, "": False}
# the asset whose materialisation carries what a run found (orchestrate.assets)
REPORT_ASSET = AssetKey("anomaly_report")


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
    # also e-mail a successful run that raised new anomalies
    on_new_anomalies: bool = False


def smtp_settings(environ: Mapping[str, str]) -> SmtpSettings | None:
    """The SMTP settings, or None when no alert variable is set."""
    value = {name: environ.get(PREFIX + name, "").strip() for name in (*REQUIRED, "PORT", "SECURITY", "USER", "PASSWORD", "NEW_ANOMALIES")}
    if value["NEW_ANOMALIES"].lower() not in SWITCH_VALUES:
        raise AlertSettingsError(f"{PREFIX}NEW_ANOMALIES must be true or false, not '{value['NEW_ANOMALIES']}'")
    on_new_anomalies = SWITCH_VALUES[value["NEW_ANOMALIES"].lower()]
    if not any(value[name] for name in REQUIRED):
        if on_new_anomalies:
            raise AlertSettingsError(f"{PREFIX}NEW_ANOMALIES needs {', '.join(PREFIX + name for name in REQUIRED)} to send e-mail")
        return None
    missing = [PREFIX + name for name in REQUIRED if not value[name]]
    if missing:
        raise AlertSettingsError(f"e-mail alerts need {', '.join(missing)} as well (or no {PREFIX}* variable)")
    security = value["SECURITY"].lower() or "none"
    if security not in SECURITY_PORTS:
        raise AlertSettingsError(f"{PREFIX}SECURITY must be one of {', '.join(SECURITY_PORTS)}, not '{value['SECURITY']}'")
    port = value["PORT"] or str(SECURITY_PORTS[security])
    if not (port.isascii() and port.isdigit()):
        raise AlertSettingsError(f"{PREFIX}PORT must be a port number, not '{value['PORT']}'")
    if bool(value["USER"]) != bool(value["PASSWORD"]):
        raise AlertSettingsError(f"set both {PREFIX}USER and {PREFIX}PASSWORD to log in, or neither")
    recipients = tuple(address.strip() for address in value["RECIPIENTS"].split(",") if address.strip())
    return SmtpSettings(
        host=value["HOST"],
        port=int(port),
        sender=value["SENDER"],
        recipients=recipients,
        security=security,
        user=value["USER"] or None,
        password=value["PASSWORD"] or None,
        on_new_anomalies=on_new_anomalies,
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


def new_anomalies_email(settings: SmtpSettings, job: str, run_id: str, hours: str, count: int, table: str) -> EmailMessage:
    """The message that a run succeeded with new anomalies: how many, and the first of them."""
    message = EmailMessage()
    message["Subject"] = f"netflow_pca: {count} new anomal{'y' if count == 1 else 'ies'} ({hours})"
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    lines = [f"The Dagster run {run_id} of {job} ({hours}) raised {count} new anomal{'y' if count == 1 else 'ies'}:", "", table]
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


def email_on_new_anomalies(settings: SmtpSettings) -> SensorDefinition:
    """A sensor that e-mails the recipients when a run of this code location succeeds and its
    report (the asset anomaly_report) counts new anomalies; a run without them sends nothing."""

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS, name="netflow_pca_email_on_new_anomalies", default_status=DefaultSensorStatus.RUNNING
    )
    def email_on_run_with_new_anomalies(context: RunStatusSensorContext) -> None:
        run = context.dagster_run
        for entry in context.instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            if materialization is None or materialization.asset_key != REPORT_ASSET:
                continue
            # a run of several hours materialises the report once per hour, each with the same metadata
            metadata = {name: value.value for name, value in materialization.metadata.items()}
            count = int(metadata.get("new_anomalies") or 0)
            if count:
                table = str(metadata.get("new_anomalies_table", ""))
                send(settings, new_anomalies_email(settings, run.job_name, run.run_id, hours_of_run(run.tags), count, table))
            return

    return email_on_run_with_new_anomalies
