#!/usr/bin/env python3
"""Drives the mail-imap TCP adapter with Python's imaplib, an independent
IMAP client implementation. Usage: imaplib_client.py PORT. Exits non-zero
on the first mismatch."""
import imaplib
import re
import socket
import sys
import time

port = int(sys.argv[1])


def ok(resp, what):
    typ, data = resp
    assert typ == "OK", f"{what}: {typ} {data!r}"
    return data


M = imaplib.IMAP4("127.0.0.1", port)
assert "IMAP4REV1" in M.capabilities, M.capabilities
ok(M.login("bob", "secret"), "login")
assert "UIDPLUS" in M.capabilities or True

# LIST: special-use folders exist after the first login.
lst = ok(M.list(), "list")
names = {}
for line in lst:
    m = re.match(rb'\((.*?)\) "(.)" "?(.*?)"?$', line)
    assert m, line
    names[m.group(3).decode()] = m.group(1).decode()
for folder, attr in [("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Junk", "\\Junk"), ("Trash", "\\Trash"), ("Archive", "\\Archive")]:
    assert attr in names.get(folder, ""), (folder, names)
assert "INBOX" in names

ok(M.create("Projects/2024"), "create")
assert any(b"Projects/2024" in l for l in ok(M.list('""', "Projects/*"), "list sub"))

# APPEND with a synchronizing literal, flags and a date; check APPENDUID.
msg = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
       b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= imaplib test\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <t1@example.org>\r\n\r\nHello Bob,\r\nthis is the body.\r\n")
typ, data = M.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg)
assert typ == "OK", data
m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
assert m, data
uid = m.group(2).decode()

typ, data = M.select("INBOX")
assert typ == "OK" and int(data[0]) == 2, data

# FETCH byte-exact.
data = ok(M.uid("FETCH", uid, "(RFC822 FLAGS INTERNALDATE)"), "fetch")
assert data[0][1] == msg, data[0][1]
meta = data[0][0] + data[1]
assert b"\\Flagged" in meta and b"\\Seen" in meta, meta
date = imaplib.Internaldate2tuple(meta)
assert time.mktime(date) == 1700000000, date

data = ok(M.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] ENVELOPE BODYSTRUCTURE)"), "fetch hdr")
assert data[0][1] == b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= imaplib test\r\n\r\n", data
tail = data[1]
assert b"ENVELOPE (" in tail and b'("Alice" NIL "alice" "example.org")' in tail, data
assert b'BODYSTRUCTURE ("TEXT" "PLAIN"' in tail, tail

data = ok(M.fetch("1:*", "(UID RFC822.SIZE)"), "fetch sizes")
assert len(data) == 2, data
assert f"RFC822.SIZE {len(msg)}".encode() in data[1], data

# STORE, SEARCH.
data = ok(M.uid("STORE", uid, "+FLAGS", "(\\Answered $Important)"), "store")
assert b"\\Answered" in data[0] and b"$Important" in data[0], data
assert ok(M.search(None, "ANSWERED"), "search")[0] == b"2"
assert ok(M.uid("SEARCH", None, "FROM", "alice"), "uid search")[0] == uid.encode()
assert ok(M.search("UTF-8", "BODY", "body."), "charset search")[0] == b"2"
assert ok(M.search(None, "OR", "SUBJECT", "nothing", "KEYWORD", "$Important"), "or")[0] == b"2"
assert ok(M.search(None, "NOT", "SEEN"), "unseen")[0] == b"1"

# COPY (COPYUID), MOVE, EXPUNGE.
typ, data = M.uid("COPY", uid, "Trash")
assert typ == "OK", data
typ, data = M.uid("MOVE", "1", "Archive")
assert typ == "OK", data
# RFC 6851: COPYUID arrives in an untagged OK, which imaplib records.
typ, data = M.response("COPYUID")
assert data and data[-1].split()[1:] == [b"1", b"1"] and data[0].split()[1] == uid.encode(), data
assert ok(M.select("Archive"), "select archive")[0] == b"1"
ok(M.select("INBOX"), "reselect")
ok(M.store("1", "+FLAGS", "\\Deleted"), "delete")
data = ok(M.expunge(), "expunge")
assert data == [b"1"], data
assert ok(M.select("INBOX"), "reselect")[0] == b"0"

# STATUS, RENAME, DELETE, LSUB.
data = ok(M.status("Trash", "(MESSAGES UIDNEXT UNSEEN)"), "status")
assert b"MESSAGES 1" in data[0] and b"UIDNEXT 2" in data[0], data
ok(M.rename("Projects/2024", "Projects/2025"), "rename")
ok(M.delete("Projects/2025"), "delete folder")
assert any(b"Trash" in l for l in ok(M.lsub(), "lsub"))

# IDLE, woken by a delivery made over a second connection.
M.send(b"I1 IDLE\r\n")
assert M.readline().startswith(b"+"), "idle continuation"
M2 = imaplib.IMAP4("127.0.0.1", port)
ok(M2.login("bob", "secret"), "login2")
typ, data = M2.append("INBOX", None, None, b"Subject: new\r\n\r\nnew mail\r\n")
assert typ == "OK", data
M2.logout()
M.sock.settimeout(10)
line = M.readline()
assert re.match(rb"\* 1 EXISTS", line), line
M.send(b"DONE\r\n")
while True:
    line = M.readline()
    if line.startswith(b"I1 "):
        assert line.startswith(b"I1 OK"), line
        break
data = ok(M.fetch("1", "(BODY[TEXT])"), "fetch new")
assert data[0][1] == b"new mail\r\n", data

# Bad things get tagged BAD/NO without killing the connection.
try:
    M.select("Does-Not-Exist")
except imaplib.IMAP4.error:
    pass
typ, data = M.noop()
assert typ == "OK"
M.logout()
print("imaplib: all checks passed")
