"""A throwaway Postfix instance (Debian's postfix package) that relays
everything to one SMTP server: the guest. Its own config and queue
directories under a temp dir; no inbound listener; stopped afterwards."""
import os
import shutil
import subprocess
import time

MASTER_CF = """\
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""


class Postfix:
    def __init__(self, base, relay_port):
        self.base = base
        self.conf = os.path.join(base, "postfix-conf")
        os.makedirs(self.conf, exist_ok=True)
        q = os.path.join(base, "postfix-queue")
        data = os.path.join(base, "postfix-data")
        os.makedirs(data, exist_ok=True)
        # Postfix's unprivileged daemons must reach their directories.
        os.chmod(base, 0o755)
        shutil.chown(data, "postfix")
        self.maillog = os.path.join(base, "postfix.log")
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = relay.example.org
mydomain = example.org
myorigin = example.org
mydestination =
relayhost = [127.0.0.1]:{relay_port}
smtp_tls_security_level = may
smtp_tls_loglevel = 1
maillog_file = {self.maillog}
maillog_file_prefixes = {base}
alias_maps =
alias_database =
smtputf8_enable = yes
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF)
        os.makedirs(q, exist_ok=True)
        subprocess.run(["postfix", "-c", self.conf, "check"], check=True, capture_output=True)

    def start(self):
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True, capture_output=True)
        return self

    def send(self, sender, rcpts, data):
        subprocess.run(["sendmail", "-C", self.conf, "-f", sender, "-i", *rcpts], input=data, check=True)
        subprocess.run(["postqueue", "-c", self.conf, "-f"], capture_output=True)

    def log(self):
        try:
            return open(self.maillog).read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            time.sleep(0.2)
        raise AssertionError(f"postfix log lacks {text!r}:\n{self.log()[-3000:]}")

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True)
