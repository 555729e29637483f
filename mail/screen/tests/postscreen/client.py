"""Connect to postscreen on port 2525 from each client address (in small
parallel batches) and
report what it said: PASS (a final 220 line) or the refusal line.
A "pregreet" client speaks as soon as the 220- teaser arrives."""
import socket
import sys
import threading
import time

clients = [l.split() for l in open(sys.argv[1]) if l.strip()]
results = {}

def run(addr, mode):
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
    threads = [threading.Thread(target=run, args=(a, m)) for a, m in clients[i:i + BATCH]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
with open(sys.argv[2], 'w') as f:
    for a, _ in clients:
        f.write('%s %s\n' % (a, results.get(a, 'MISSING')))
