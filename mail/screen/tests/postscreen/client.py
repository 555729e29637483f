"""Connect to postscreen on port 2525 from each client address (in small
parallel batches) and report what it said: PASS (a final 220 line) or the
refusal line. A "pregreet" client speaks as soon as the 220- teaser
arrives. A "deep" client then plays a script (hex chunks, comma-separated:
each chunk is sent at once, then every reply to its lines is awaited) and
reports the reply codes after the greeting, joined by "/"."""
import socket
import sys
import threading
import time

clients = [l.split() for l in open(sys.argv[1]) if l.strip()]
results = {}


def replies(s, buf, n):
    """Read n complete replies; return (codes, rest of buffer)."""
    codes = []
    while len(codes) < n:
        while b'\r\n' not in buf:
            data = s.recv(4096)
            if not data:
                codes.append('EOF')
                return codes, buf
            buf += data
        line, buf = buf.split(b'\r\n', 1)
        if line[3:4] != b'-':
            codes.append(line[:3].decode(errors='replace'))
    return codes, buf


def deep(s, buf, script):
    codes = []
    for chunk in script.split(','):
        data = bytes.fromhex(chunk)
        s.sendall(data)
        got, buf = replies(s, buf, data.count(b'\n'))
        codes += got
        if 'EOF' in got or '521' in got:
            break
    return '/'.join(codes)


def run(addr, mode, script=None):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    server = '::1' if fam == socket.AF_INET6 else '127.0.0.1'
    # Wait for postscreen to listen (startup).
    for _ in range(300):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind((addr, 0))
        try:
            s.connect((server, 2525))
            break
        except OSError:
            s.close()
            time.sleep(0.1)
    else:
        results[addr] = 'NO-CONNECT'
        return
    s.settimeout(30)
    buf = b''
    outcome = 'TIMEOUT'
    spoke = False
    try:
        while True:
            data = s.recv(4096)
            if not data:
                outcome = 'CLOSED ' + buf.decode(errors='replace').strip().replace('\r\n', ' | ')
                break
            buf += data
            lines = buf.split(b'\r\n')
            if mode == 'pregreet' and not spoke and lines[0].startswith(b'220-'):
                s.sendall(b'EHLO early.example\r\n')
                spoke = True
            done = [l for l in lines[:-1] if l[3:4] == b' ']
            if done:
                last = done[0].decode(errors='replace')
                outcome = 'PASS' if last.startswith('220 ') else last
                if mode == 'deep' and outcome == 'PASS':
                    rest = buf.split(done[0] + b'\r\n', 1)[1]
                    outcome = deep(s, rest, script)
                break
    except socket.timeout:
        pass
    try:
        s.sendall(b'QUIT\r\n')
    except OSError:
        pass
    s.close()
    results[addr] = outcome

# In batches: all at once would overrun the dnsblog service's listen
# queue, and postscreen would skip those lookups.
BATCH = 8
for i in range(0, len(clients), BATCH):
    threads = [threading.Thread(target=run, args=tuple(c)) for c in clients[i:i + BATCH]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
with open(sys.argv[2], 'w') as f:
    for c in clients:
        f.write('%s %s\n' % (c[0], results.get(c[0], 'MISSING')))
