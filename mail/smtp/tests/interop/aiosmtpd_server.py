"""An independent SMTP server (aiosmtpd) for the mail-smtp client interop
test. Prints "PORT n", then one JSON line per received message; stops when
stdin is closed."""
import base64
import json
import socket
import sys

from aiosmtpd.controller import Controller


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("unknown"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "options": envelope.mail_options,
            "content": base64.b64encode(envelope.original_content).decode(),
        }), flush=True)
        return "250 2.0.0 OK queued"


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
controller = Controller(Handler(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=True,
                        decode_data=False, server_hostname="aiosmtpd.example")
controller.start()
print("PORT %d" % port, flush=True)
sys.stdin.read()
controller.stop()
