"""A tiny SMTP sink for the tests (aiosmtpd): stores every accepted message
as a file in a directory, with the envelope and the client address in
X- headers, and refuses recipients whose local part starts with `reject`
with 550 5.1.1."""
import asyncio
import os
import sys
import uuid

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out):
        self.out = out
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("reject"):
            return "550 5.1.1 no such user here"
        if address.split("@")[0].startswith("later") and address not in self.deferred:
            self.deferred.add(address)  # greylisting-like: 4xx once, then accept
            return "451 4.7.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        head = (f"X-Peer: {session.peer[0]}\r\nX-MailFrom: {envelope.mail_from}\r\n"
                f"X-RcptTo: {','.join(envelope.rcpt_tos)}\r\n").encode()
        path = os.path.join(self.out, uuid.uuid4().hex + ".eml")
        with open(path + ".tmp", "wb") as f:
            f.write(head + envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK stored"


if __name__ == "__main__":
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    c = Controller(Handler(out), hostname=host, port=port)
    c.start()
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        c.stop()
