"""The fake Messages API in a process of its own (so the capacity figures do not share a
GIL with the clients): prints its URL, serves until its stdin closes.

    python -m bench.fake_model FIRST_TOKEN_DELAY CHUNKS CHUNK_DELAY
"""

from __future__ import annotations

import sys

from tests.support.messages_api import FakeMessagesApi


def main() -> None:
    delay, chunks, chunk_delay = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    fake = FakeMessagesApi(
        first_chunk_delay=delay,
        chunks=chunks,
        chunk_delay=chunk_delay,
        reply="A long answer, streamed slowly. " * 20,
    ).start()
    print(fake.url, flush=True)
    sys.stdin.read()
    fake.stop()


if __name__ == "__main__":
    main()
