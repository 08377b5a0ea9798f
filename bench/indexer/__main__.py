"""Indexer benchmark: 100,000 protocol events from a local Anvil node into PostgreSQL.

A helper contract (``IndexerBenchBatcher``, compiled with the protocol) calls the real contracts in a
loop, so one transaction emits hundreds of genuine logs: PriceFeed updates (``NewRound`` +
``AnswerUpdated``, which also become price observations) and GovToken transfers to a mix of
delegated and undelegated holders (``Transfer`` + ``DelegateVotesChanged``, which become transfer and
voting-power rows). The timed part is the indexer end to end — ``eth_getLogs`` over JSON-RPC,
decoding, and every database write, one transaction per block range — from the deployment block
to the head. Writes bench/results/indexer.json. Uses its own database (riskgov_bench_indexer) on
the PostgreSQL server in BENCH_PG_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import load_average
from bench.database import fresh_django_database
from chain.client import ChainClient
from chain.deploy import ProtocolAddresses, dev_accounts

LOAD_AT_START = load_average()  # the machine's load as the benchmark starts, recorded with its figures
RESULTS = Path(__file__).resolve().parent.parent / "results" / "indexer.json"
DB_NAME = "riskgov_bench_indexer"
UPDATES_PER_TX = 500  # ~50k gas each: about 25M gas per transaction
TRANSFERS_PER_TX = 1000
RECIPIENTS = 50  # dev accounts; every other one self-delegates


@dataclass(frozen=True)
class Generated:
    addresses: ProtocolAddresses
    price_updates: int
    transfers: int
    transactions: int
    generation_seconds: float


def generate(client: ChainClient, events: int) -> Generated:
    """Deploy the protocol and the batcher, then emit at least ``events`` logs; returns what was made."""
    from chain.deploy import KEEPER_ROLE, DemoAccounts, deploy_protocol
    from chain.units import WAD

    deployer = DemoAccounts.from_mnemonic(0).deployer
    recipients = dev_accounts(RECIPIENTS, start=2)
    addresses = deploy_protocol(client, deployer)  # the deployer keeps the keeper role
    batcher = client.contract("IndexerBenchBatcher", client.deploy("IndexerBenchBatcher", sender=deployer))
    token = client.contract("GovToken", addresses["gov_token"])
    for address in addresses["price_feeds"].values():
        feed = client.contract("PriceFeed", address)
        client.transact(feed.functions.grantRole(KEEPER_ROLE, batcher.address), sender=deployer)
    client.transact(token.functions.mint(batcher.address, 10**9 * WAD), sender=deployer)
    for recipient in recipients[::2]:
        client.transact(token.functions.mint(recipient.address, WAD), sender=deployer)
        client.transact(token.functions.delegate(recipient.address), sender=recipient)

    price_events = events * 6 // 10
    feeds = list(addresses["price_feeds"].values())
    updates = price_events // 2
    transactions = 0
    started = time.perf_counter()
    for index in range(-(-updates // UPDATES_PER_TX)):
        count = min(UPDATES_PER_TX, updates - index * UPDATES_PER_TX)
        feed_address = feeds[index % len(feeds)]
        client.transact(
            batcher.functions.updateAnswers(feed_address, 100_000_000 + index, count), sender=deployer, gas=29_000_000
        )
        transactions += 1
    # Every other recipient is delegated: two transfers emit three events.
    transfers = -(-(events - updates * 2) * 2 // 3)
    recipient_addresses = [recipient.address for recipient in recipients]
    for index in range(-(-transfers // TRANSFERS_PER_TX)):
        count = min(TRANSFERS_PER_TX, transfers - index * TRANSFERS_PER_TX)
        client.transact(
            batcher.functions.transfers(token.address, recipient_addresses, 10**15, count),
            sender=deployer,
            gas=29_000_000,
        )
        transactions += 1
    return Generated(
        addresses=addresses,
        price_updates=updates,
        transfers=transfers,
        transactions=transactions,
        generation_seconds=round(time.perf_counter() - started, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--block-range", type=int, default=2000)
    args = parser.parse_args()

    fresh_django_database(DB_NAME)

    from chain.anvil import start_anvil
    from chain.models import ChainEvent, TokenTransfer, VotingPowerCheckpoint
    from chain.services.deployments import deployment_record, genesis_hash
    from chain.services.indexer import IndexerConfig, deployment_index
    from riskgov.markets.models import PriceObservation

    with start_anvil(accounts=RECIPIENTS + 2) as node:
        client = ChainClient.connect(node.url, chain_id=node.chain_id, timeout=120.0)
        made = generate(client, args.events)
        addresses = made.addresses
        print(f"generated {made.transactions} transactions in {made.generation_seconds}s", file=sys.stderr)
        start = client.rpc("eth_getBlockByNumber", hex(addresses["deployment_block"] - 1), False)["hash"]
        deployment = deployment_record(
            addresses=addresses,
            genesis=genesis_hash(client),
            feed_decimals=dict.fromkeys(addresses["price_feeds"], 8),
            start_hash=start,
        )

        started = time.perf_counter()
        runs = deployment_index(
            deployment=deployment, client=client, config=IndexerConfig(block_range=args.block_range)
        )
        seconds = time.perf_counter() - started

        errors = [run.error for run in runs if run.error]
        if errors:
            raise SystemExit(f"indexing failed: {errors}")
        events = sum(run.events for run in runs)
        token = client.contract("GovToken", addresses["gov_token"])
        head = client.block_number
        client.rpc("evm_mine")
        holder = dev_accounts(1, start=2)[0].address  # the first recipient, self-delegated
        assert ChainEvent.objects.count() == events
        from chain.selectors.voting import voting_power

        assert voting_power(holder, head) == token.functions.getPastVotes(holder, head).call()

    result = {
        "benchmark": "indexer",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # 1-, 5- and 15-minute load averages at the start and at the end (other processes share the cores)
        "load_averages": {"start": LOAD_AT_START, "end": load_average()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "goal_events_per_second": 2000,
        "block_range": args.block_range,
        "blocks": head - addresses["deployment_block"] + 1,
        "transactions": made.transactions,
        "generation_seconds": made.generation_seconds,
        "per_contract": {run.label: {"events": run.events, "ranges": run.ranges} for run in runs},
        "rows_written": {
            "chain_events": ChainEvent.objects.count(),
            "price_observations": PriceObservation.objects.count(),
            "token_transfers": TokenTransfer.objects.count(),
            "voting_power_checkpoints": VotingPowerCheckpoint.objects.count(),
        },
        "notes": (
            "End to end: eth_getLogs over HTTP from Anvil, decoding, upserts into PostgreSQL, one transaction "
            "per block range. Feed updates in the same second collapse into one price observation."
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
