"""A real SMTP server for the end-to-end tests: aiosmtpd on 127.0.0.1:PORT that writes
each delivered message to DIR as one JSON file (envelope, headers, decoded body), written
whole (a temporary file renamed into place). It stops when its standard input closes (the
test process ended or dropped it).

    python3 smtp_sink.py PORT DIR [starttls|tls CERT KEY]

With `starttls` the server offers STARTTLS and refuses mail before it; with `tls` it speaks
TLS from the first byte (SMTPS). CERT and KEY are PEM files.
"""

import email
import email.policy
import json
import os
import ssl
import sys
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "body": body.get_content() if body is not None else "",
        }
        name = uuid.uuid4().hex
        temporary = os.path.join(self.folder, f".{name}.tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(temporary, os.path.join(self.folder, f"{name}.json"))
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    options = {}
    if len(sys.argv) > 3:
        mode, cert, key = sys.argv[3:6]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        elif mode == "tls":
            options = {"ssl_context": context}
        else:
            sys.exit(f"unknown mode {mode}")
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
