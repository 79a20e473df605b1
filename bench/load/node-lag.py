"""Catch-up lag between two app nodes: files cases on node A at a steady rate and times how long
until a search on node B finds each one.

    python3 bench/load/node-lag.py A_URL B_URL TOKEN [PER_SECOND] [SECONDS]
"""
import json
import statistics
import sys
import threading
import time
import urllib.request

a, b, token = sys.argv[1], sys.argv[2], sys.argv[3]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
lags, errors, lock = [], [], threading.Lock()


def request(url, body=None, key=None):
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    req = urllib.request.Request(url, data=body, headers=h, method="POST" if body else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def one(n):
    word = "zqlag%06d" % n
    body = json.dumps({"verbatim_alarm": "Bad_Timeout " + word, "outcome": "fixed"}).encode()
    try:
        request(a + "/api/cases", body, "lag-%d-%d" % (int(time.time()), n))
        acked = time.monotonic()
        while time.monotonic() - acked < 30:
            hits = request(b + "/api/search?q=" + word).get("hits", [])
            if any(h.get("kind") == "case" for h in hits):
                with lock:
                    lags.append((time.monotonic() - acked) * 1000)
                return
            time.sleep(0.005)
        with lock:
            errors.append("not found within 30 s: " + word)
    except Exception as e:  # noqa: BLE001 - every failure is counted and shown
        with lock:
            errors.append(repr(e))


threads, start, n = [], time.monotonic(), 0
while time.monotonic() - start < seconds:
    t = threading.Thread(target=one, args=(n,))
    t.start()
    threads.append(t)
    n += 1
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
for t in threads:
    t.join()
lags.sort()
if lags:
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    print("filed %d at %.0f/s on A; found on B after p50 %.0f ms, p99 %.0f ms, max %.0f ms (mean %.0f); errors %d"
          % (len(lags), rate, p(0.50), p(0.99), lags[-1], statistics.mean(lags), len(errors)))
for e in errors[:5]:
    print("error:", e)
sys.exit(1 if errors or not lags else 0)
