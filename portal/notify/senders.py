"""The ways a message leaves the portal: SMTP e-mail, a JSON POST to a webhook, and a text message
through the SMS provider's HTTP API.

Each sender raises ``DeliveryError`` (or the network's own exception) when the message did not get
through; the worker turns that into a recorded attempt.
"""
from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

# WeCom group robots take at most 2048 bytes of text; DingTalk takes more, so this limit suits both.
ROBOT_TEXT_MAX_BYTES = 2048


class DeliveryError(Exception):
    """A message could not be delivered; the text says why, for the staff who read last_error."""


class ChannelDisabled(DeliveryError):
    """The channel is switched off in the settings: waiting will not help, so the message fails at once."""


class EmailDisabled(ChannelDisabled):
    """E-mail is switched off (no SMTP_HOST)."""


class SmsDisabled(ChannelDisabled):
    """Text messages are switched off (no SMS_API_URL) since the message was queued."""


def group_robot_text(content: str) -> dict:
    """The payload a WeCom (企业微信) or DingTalk (钉钉) group robot takes for a text message."""
    data = content.encode("utf-8")
    if len(data) > ROBOT_TEXT_MAX_BYTES:
        # Cut on a character boundary and say that the text goes on.
        ellipsis = "…".encode("utf-8")
        data = data[: ROBOT_TEXT_MAX_BYTES - len(ellipsis)].decode("utf-8", "ignore").encode("utf-8")
        data += ellipsis
    return {"msgtype": "text", "text": {"content": data.decode("utf-8")}}


def send_email(config, recipient: str, subject: str, body: str) -> None:
    """Send one plain-text UTF-8 e-mail through the configured SMTP server."""
    host = config["SMTP_HOST"]
    if not host:
        raise EmailDisabled("未配置 SMTP_HOST，邮件发送未启用（e-mail is off）；配置后可重试。")
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = recipient
    message["Subject"] = subject or ""
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=_sender_domain(config["MAIL_FROM"]))
    # base64 keeps Chinese text intact through servers that only pass 7-bit mail.
    message.set_content(body or "", charset="utf-8", cte="base64")

    timeout = config["NOTIFY_TIMEOUT_SECONDS"]
    port = config["SMTP_PORT"]
    if config["SMTP_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USERNAME"]:
            # Both are text: finalise() turns a password of digits (PORTAL_* is parsed as JSON) into one.
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def post_webhook(config, url: str, payload: str) -> None:
    """POST a JSON document; anything but a 2xx answer (or a robot's non-zero errcode) is a failure."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"webhook 地址须为 http(s)：{url!r}")
    request = urllib.request.Request(
        url, data=payload.encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "outfall-portal"},
    )
    timeout = config["NOTIFY_TIMEOUT_SECONDS"]
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, answer = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        with error:
            detail = error.read(300).decode("utf-8", "replace").strip()
        raise DeliveryError(f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")) from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    _check_robot_answer(answer)


def send_sms(config, phone: str, text: str) -> None:
    """Send one text message through the provider: a JSON POST {"phone", "text"} with the bearer token.

    The text goes out after the signature, as 【SMS_SIGN_NAME】text. A non-2xx answer, a JSON answer
    with "ok": false or a non-zero "code", or no answer within SMS_TIMEOUT_SECONDS is a failure.
    """
    url = config["SMS_API_URL"]
    if not url:
        raise SmsDisabled("未配置 SMS_API_URL，短信发送未启用（SMS is off）；配置后可重试。")
    sign = config["SMS_SIGN_NAME"]
    document = {"phone": phone, "text": (f"【{sign}】" if sign else "") + (text or "")}
    request = urllib.request.Request(
        url, data=json.dumps(document, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "outfall-portal",
                 "Authorization": f"Bearer {config['SMS_API_TOKEN']}"},
    )
    timeout = config["SMS_TIMEOUT_SECONDS"]
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, answer = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        with error:
            detail = error.read(300).decode("utf-8", "replace").strip()
        raise DeliveryError(f"短信接口 HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")) from None
    except (TimeoutError, urllib.error.URLError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"短信接口 {timeout} 秒内未应答（SMS provider timed out）") from None
        raise
    if not 200 <= status < 300:
        raise DeliveryError(f"短信接口 HTTP {status}")
    _check_sms_answer(answer)


def _check_sms_answer(answer: bytes) -> None:
    """Providers answer 200 with {"ok": false} or {"code": …, "message": …} when they refuse a message."""
    try:
        document = json.loads(answer)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    code = document.get("code")
    if document.get("ok") is False or code not in (None, 0, "0"):
        why = next((str(document[key]) for key in ("message", "msg", "error", "errmsg") if document.get(key)), "")
        label = f"code {code}" if code not in (None, 0, "0") else "ok: false"
        raise DeliveryError(f"短信接口拒绝（SMS provider refused）{label}" + (f": {why}" if why else ""))


def describe(error: BaseException) -> str:
    """A one-line account of why a delivery failed, for last_error."""
    if isinstance(error, DeliveryError):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{address}: {code} {_text(reply)}"
                            for address, (code, reply) in error.recipients.items())
        return f"SMTP 收件人被拒（recipient refused）：{refused}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, urllib.error.URLError):
        return f"{type(error).__name__}: {error.reason}"
    return f"{type(error).__name__}: {error}"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would arrive as a GET without its body: count it as a failure instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _check_robot_answer(answer: bytes) -> None:
    """Group robots answer 200 with {"errcode": …}: a non-zero code means the message was refused."""
    try:
        document = json.loads(answer)
    except ValueError:
        return
    if isinstance(document, dict) and document.get("errcode") not in (None, 0):
        raise DeliveryError(f"errcode {document['errcode']}: {document.get('errmsg', '')}")


def _sender_domain(mail_from: str) -> str | None:
    """The domain of the sender's address, so Message-IDs do not reveal the worker's host name."""
    address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[1] if "@" in address else None


def _text(reply) -> str:
    """An SMTP server's reply as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
