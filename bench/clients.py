"""BrickLink client calls per second against the sandbox at zero latency, beside bare
``requests`` + ``OAuth1`` calls to the same sandbox in the same run.

The difference is what the client adds per call: envelope decoding, classification, typed
results, the streamed body with its deadline and size cap, one log line. Rounds alternate
between the two so machine noise hits both alike; the median round is reported.

    .venv/bin/python bench/clients.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from common import median, setup_django, write_results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    setup_django()
    import requests
    from requests_oauthlib import OAuth1

    from marketplaces.bricklink import BrickLinkClient, Credentials
    from tests.harness import SandboxProcess

    logging.getLogger("marketplaces.http").setLevel(logging.INFO)
    logging.disable(logging.INFO)  # the log call still runs; nothing is written to the terminal
    sandbox = SandboxProcess().start()
    try:
        creds = SandboxProcess.BRICKLINK_CREDENTIALS
        sandbox.control(bricklink_quota=10**9)
        client = BrickLinkClient(Credentials(**creds), base_url=sandbox.bricklink_url)
        bare = requests.Session()
        bare.auth = OAuth1(
            creds["consumer_key"],
            creds["consumer_secret"],
            creds["token_value"],
            creds["token_secret"],
        )
        url = f"{sandbox.bricklink_url}/items/PART/3001"

        def with_client() -> None:
            client.item("3001")

        def with_requests() -> None:
            response = bare.get(url, timeout=(3.05, 10))
            json.loads(response.content)["data"]

        for call in (with_client, with_requests):  # warm up connections and caches
            for _ in range(200):
                call()

        client_rates: list[float] = []
        bare_rates: list[float] = []
        client_cpu: list[float] = []
        bare_cpu: list[float] = []
        sides = ((with_client, client_rates, client_cpu), (with_requests, bare_rates, bare_cpu))
        for round_no in range(args.rounds):
            for call, rates, cpu in sides:
                started, cpu_started = time.perf_counter(), time.process_time()
                for _ in range(args.calls):
                    call()
                rates.append(args.calls / (time.perf_counter() - started))
                cpu.append((time.process_time() - cpu_started) / args.calls * 1e6)
            print(
                f"round {round_no + 1}: client {client_rates[-1]:6.0f} calls/s "
                f"({client_cpu[-1]:4.0f} us CPU/call), bare requests {bare_rates[-1]:6.0f} "
                f"calls/s ({bare_cpu[-1]:4.0f} us CPU/call)"
            )
    finally:
        sandbox.stop()

    client_rate, bare_rate = median(client_rates), median(bare_rates)
    ratio = client_rate / bare_rate
    cpu_client, cpu_bare = median(client_cpu), median(bare_cpu)
    print(
        f"\nBrickLink client: {client_rate:.0f} calls/s   bare requests+OAuth1: {bare_rate:.0f} "
        f"calls/s   ratio client/bare: {ratio:.3f} (median of {args.rounds} rounds x "
        f"{args.calls} calls, GET /items/PART/3001, sandbox at zero latency, one thread)\n"
        f"CPU in the calling process per call: client {cpu_client:.0f} us, bare {cpu_bare:.0f} us "
        f"(ratio {cpu_client / cpu_bare:.3f})"
    )
    write_results(
        "clients",
        {
            "endpoint": "GET /items/PART/3001",
            "calls_per_round": args.calls,
            "rounds": args.rounds,
            "client_calls_per_second": round(client_rate, 1),
            "bare_requests_calls_per_second": round(bare_rate, 1),
            "ratio_client_to_bare": round(ratio, 3),
            "client_cpu_us_per_call": round(cpu_client, 1),
            "bare_cpu_us_per_call": round(cpu_bare, 1),
            "cpu_ratio_client_to_bare": round(cpu_client / cpu_bare, 3),
            "client_rounds": [round(r, 1) for r in client_rates],
            "bare_rounds": [round(r, 1) for r in bare_rates],
        },
    )


if __name__ == "__main__":
    main()
