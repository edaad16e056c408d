"""Bytes in, :class:`models.mail.InboundMessage` out: MIME parsing plus extraction.

Parsing never decides whether we keep a message: the raw bytes are stored even when
mail-parser fails, and hostile shapes (huge header blocks, absurd nesting) are not
handed to the parser at all. The message is then stored raw and flagged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging

import mailparser

from models.mail import InboundMessage, ParsedAttachment

from .extract import extract, visible_text

log = logging.getLogger("otpinbox.smtp.parse")

MAX_HEADER_BYTES = 100 * 1024  # Postfix header_size_limit
# CPython's header parser is super-linear in address lists and encoded-words
# (gh-136063): a 229 KB To: takes ~3 s. Real mail has fields of a few KB at most.
MAX_FIELD_BYTES = 32 * 1024
MAX_ENCODED_WORDS = 500
MAX_MIME_PARTS = 100  # Postfix mime_nesting_limit, counted as boundaries seen
MAX_BODY_CHARS = 2 * 1024 * 1024


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[:end]


def _longest_field(headers: bytes) -> int:
    """Length of the longest header field, folded continuation lines included."""
    longest = current = 0
    for line in headers.split(b"\n"):
        current = current + len(line) + 1 if line[:1] in (b" ", b"\t") else len(line) + 1
        longest = max(longest, current)
    return longest


def _refuse_reason(raw: bytes) -> str | None:
    headers = header_block(raw)
    if len(headers) > MAX_HEADER_BYTES:
        return f"header block over {MAX_HEADER_BYTES} bytes"
    if _longest_field(headers) > MAX_FIELD_BYTES:
        return f"a header field over {MAX_FIELD_BYTES} bytes"
    if headers.count(b"=?") > MAX_ENCODED_WORDS:
        return f"more than {MAX_ENCODED_WORDS} encoded-words in the header"
    if raw.count(b"\n--") > MAX_MIME_PARTS * 4 or raw.lower().count(b"boundary=") > MAX_MIME_PARTS:
        return f"more than {MAX_MIME_PARTS} MIME parts"
    return None


def _address(pairs: list[tuple[str, str]] | None) -> str:
    if not pairs:
        return ""
    return ", ".join(f"{name} <{addr}>" if name else addr for name, addr in pairs)


def _attachment(item: dict) -> ParsedAttachment:
    payload = item.get("payload") or ""
    if item.get("binary"):
        try:
            content = base64.b64decode(payload)
        except (binascii.Error, ValueError):
            content = payload.encode("utf-8", "replace")
    else:
        content = payload.encode(item.get("charset") or "utf-8", "replace")
    # A sender-chosen name like "../../etc/passwd" keeps only its last component.
    name = str(item.get("filename") or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = name.replace("\x00", "").strip()
    return ParsedAttachment(
        filename=(name if name not in ("", ".", "..") else "attachment")[:255],
        content_type=str(item.get("mail_content_type") or "application/octet-stream")[:255],
        content=content,
    )


def parse(
    raw: bytes, mail_from: str, rcpt_tos: list[str] | tuple[str, ...], peer: str = ""
) -> InboundMessage:
    """Parse and extract; on any failure, an InboundMessage that carries only the raw bytes."""
    return _without_nul(_parse(raw, mail_from, rcpt_tos, peer))


def _without_nul(inbound: InboundMessage) -> InboundMessage:
    """PostgreSQL text cannot hold NUL; the raw bytes keep them, the text fields show U+FFFD."""
    changes = {
        f.name: value.replace("\x00", "\ufffd")
        for f in dataclasses.fields(inbound)
        if isinstance(value := getattr(inbound, f.name), str) and "\x00" in value
    }
    return dataclasses.replace(inbound, **changes) if changes else inbound


def raw_only(
    raw: bytes, mail_from: str, rcpt_tos: list[str] | tuple[str, ...], peer: str, reason: str
) -> InboundMessage:
    """A message stored as its raw bytes only, flagged with why it was not parsed."""
    headers = header_block(raw)[:MAX_HEADER_BYTES].decode("utf-8", "replace")
    inbound = InboundMessage(
        raw=raw,
        mail_from=mail_from,
        rcpt_tos=tuple(rcpt_tos),
        peer=peer,
        headers=headers,
        parse_error=reason,
    )
    return _without_nul(inbound)


def _parse(
    raw: bytes, mail_from: str, rcpt_tos: list[str] | tuple[str, ...], peer: str
) -> InboundMessage:
    headers_text = header_block(raw)[:MAX_HEADER_BYTES].decode("utf-8", "replace")
    common = {"raw": raw, "mail_from": mail_from, "rcpt_tos": tuple(rcpt_tos), "peer": peer}
    refused = _refuse_reason(raw)
    if refused:
        return InboundMessage(**common, headers=headers_text, parse_error=refused)
    try:
        mail = mailparser.parse_from_bytes(raw)
        subject = str(mail.subject or "")
        text = "\n\n".join(mail.text_plain)[:MAX_BODY_CHARS]
        html = "\n".join(mail.text_html)[:MAX_BODY_CHARS]
        attachments = tuple(_attachment(item) for item in mail.attachments)
        from_header = _address(mail.from_)
        to_header = _address(mail.to)
        message_id = str(mail.message_id or "")
    except (Exception, RecursionError) as exc:  # any parser bug must not lose mail
        log.warning("parse failed: %s", exc.__class__.__name__)
        return InboundMessage(
            **common, headers=headers_text, parse_error=f"{exc.__class__.__name__}: {exc}"[:500]
        )
    found = extract(subject, text, html)
    return InboundMessage(
        **common,
        subject=subject,
        from_header=from_header,
        to_header=to_header,
        message_id_header=message_id,
        headers=headers_text,
        text=text,
        html=html,
        attachments=attachments,
        code=found.code,
        link=found.link,
        searchable_text=visible_text(subject, text, html),
    )
