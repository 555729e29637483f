"""Drive the mail-smtp state machine with Python's smtplib (an independent
SMTP client implementation) and print what the client saw as JSON."""
import json
import smtplib
import sys

port = int(sys.argv[1])


def fix(refused):
    return {k: [v[0], v[1].decode()] for k, v in refused.items()}


out = {}
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=20)
code, _ = s.ehlo()
out["ehlo"] = code
out["extns"] = sorted(s.esmtp_features.keys())
out["size"] = s.esmtp_features.get("size")
out["login"] = s.login("alice", "secret")[0]

msg1 = (b"Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
        b"8bit \xc3\xa9\xff\r\nlast line without newline")
out["refused1"] = fix(s.sendmail("a@example.net", ["bob@example.org", "unknown@example.org"], msg1))

msg2 = "Subject: ünïcødé\r\n\r\nHallo Jörg\r\n".encode("utf-8")
out["refused2"] = fix(s.sendmail("jörg@exämple.net", ["bob@example.org"], msg2,
                             mail_options=["SMTPUTF8", "BODY=8BITMIME"]))

try:
    s.sendmail("a@example.net", ["bob@example.org"], b"x" * 200000)
    out["big"] = "accepted"
except smtplib.SMTPSenderRefused as e:
    out["big"] = [e.smtp_code, e.smtp_error.decode()]

try:
    s.sendmail("a@example.net", ["bob@example.org"], b"Subject: bare\n\nbare LF\n.\nsmuggled\r\n")
    out["bare"] = "accepted"
except smtplib.SMTPDataError as e:
    out["bare"] = [e.smtp_code, e.smtp_error.decode()]

try:
    s.sendmail("a@example.net", ["unknown@example.org"], b"x\r\n")
    out["norcpt"] = "accepted"
except smtplib.SMTPRecipientsRefused as e:
    out["norcpt"] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}

out["vrfy"] = s.verify("bob")[0]
out["noop"] = s.noop()[0]
out["quit"] = s.quit()[0]
print(json.dumps(out))
