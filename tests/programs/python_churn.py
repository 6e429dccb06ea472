"""Allocation-heavy Python workload for the hakmem program tests.

Deterministic: prints the same lines under any correct allocator, so the
output under hakmem can be compared byte for byte with glibc's."""
import hashlib
import json
import queue
import random
import threading

digest = hashlib.sha256()


def record(label, value):
    digest.update(f"{label}={value!r}\n".encode())


def dict_and_string_churn(rng):
    table = {}
    for i in range(60000):
        key = f"k{rng.randrange(20000)}"
        text = "".join(rng.choice("abcdefghij") for _ in range(rng.randrange(1, 40)))
        table[key] = table.get(key, "") + text
        if len(table[key]) > 300:
            del table[key]
    record("dict", sorted((k, len(v)) for k, v in table.items())[:50])
    record("dict_total", sum(len(v) for v in table.values()))


def list_churn(rng):
    lists = [[rng.random() for _ in range(rng.randrange(1, 200))] for _ in range(3000)]
    for _ in range(20000):
        i = rng.randrange(len(lists))
        if rng.random() < 0.5:
            lists[i] = lists[i] + [rng.random()] * rng.randrange(1, 50)
        else:
            lists[i] = lists[i][: len(lists[i]) // 2]
    record("lists", sum(len(x) for x in lists))
    record("lists_sum", round(sum(sum(x) for x in lists), 6))


def json_round_trips(rng):
    for i in range(300):
        doc = {
            "id": i,
            "tags": [f"t{rng.randrange(100)}" for _ in range(rng.randrange(50))],
            "nested": {str(j): [j] * rng.randrange(20) for j in range(rng.randrange(30))},
            "blob": "x" * rng.randrange(20000),
        }
        text = json.dumps(doc, sort_keys=True)
        back = json.loads(text)
        assert back == doc
        digest.update(text.encode())


def worker(inbox, outbox):
    while True:
        item = inbox.get()
        if item is None:
            return
        seed, size = item
        rng = random.Random(seed)
        words = [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(size)]
        outbox.put((seed, hashlib.sha256(b"".join(sorted(words))).hexdigest()))


def threaded_queues():
    inbox, outbox = queue.Queue(), queue.Queue()
    threads = [threading.Thread(target=worker, args=(inbox, outbox)) for _ in range(4)]
    for t in threads:
        t.start()
    for seed in range(400):
        inbox.put((seed, 50 + seed % 200))
    for _ in threads:
        inbox.put(None)
    for t in threads:
        t.join()
    results = sorted(outbox.get() for _ in range(400))
    record("threads", results)


def main():
    rng = random.Random(12345)
    dict_and_string_churn(rng)
    list_churn(rng)
    json_round_trips(rng)
    threaded_queues()
    print("python_churn checksum", digest.hexdigest())


main()
