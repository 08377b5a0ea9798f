"""Governance benchmark: signed votes verified and stored per second through the vote endpoint, and the time to
recount 100,000 votes (signatures re-verified, voting power re-read at the snapshot from the indexed checkpoints).

Uses its own database (riskgov_bench_governance) on the PostgreSQL server in BENCH_PG_URL; voting power comes
from indexed VotingPowerCheckpoint rows exactly as in production. Writes bench/results/governance.json.
Goals: >= 500 votes/s through the endpoint; recount of 100,000 votes <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import coincurve

from bench import load_average
from bench.database import fresh_django_database
from bench.governance.workload import post_votes

LOAD_AT_START = load_average()  # the machine's load as the benchmark starts, recorded with its figures
RESULTS = Path(__file__).resolve().parent.parent / "results" / "governance.json"
DB_NAME = "riskgov_bench_governance"
# Addresses of the recorded deployment; the benchmark deploys no contract
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
VOTES_CONTRACT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"  # GovToken (ERC20Votes)
PERP_MARKET = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
CHAIN_ID = 31337
SNAPSHOT = 1000
WAD = 10**18


def keys(count: int, offset: int = 0) -> list[tuple[coincurve.PrivateKey, str]]:
    """Deterministic keys and their checksummed addresses."""
    from eth_hash.auto import keccak
    from eth_utils import to_checksum_address

    out: list[tuple[coincurve.PrivateKey, str]] = []
    for i in range(offset, offset + count):
        key = coincurve.PrivateKey(keccak(f"bench-voter-{i}".encode()))
        address = to_checksum_address(keccak(key.public_key.format(compressed=False)[1:])[-20:])
        out.append((key, address))
    return out


def sign(key: coincurve.PrivateKey, digest: bytes) -> str:
    raw = key.sign_recoverable(digest, hasher=None)
    return "0x" + (raw[:64] + bytes([raw[64] + 27])).hex()


def setup_chain(voters: list[str]) -> None:
    """A deployment, a governance-token checkpoint at SNAPSHOT and one voting-power checkpoint per voter."""
    from chain.models import ChainDeployment, ContractRole, IndexerCheckpoint, VotingPowerCheckpoint

    deployment = ChainDeployment.objects.create(
        chain_id=CHAIN_ID, genesis_hash="0x" + "00" * 32, gov_token=VOTES_CONTRACT,
        registry=REGISTRY, perp_market=PERP_MARKET, deployment_block=1,
    )  # fmt: skip
    checkpoint = IndexerCheckpoint.objects.create(
        deployment=deployment, role=ContractRole.GOV_TOKEN, address=deployment.gov_token, block_number=SNAPSHOT
    )
    rows = [
        VotingPowerCheckpoint(checkpoint=checkpoint, block_number=10 + i % 500, block_hash="0x" + "11" * 32,
                              tx_hash=f"0x{i:064x}", log_index=0, delegatee=address, previous_votes=0,
                              votes=Decimal((1 + i % 997) * WAD))
        for i, address in enumerate(voters)
    ]  # fmt: skip
    VotingPowerCheckpoint.objects.bulk_create(rows, batch_size=10_000)


def make_proposal(title: str) -> Any:
    from riskgov.governance.models import Proposal

    now = datetime.now(UTC)
    return Proposal.objects.create(
        title=title, description="bench", description_html="<p>bench</p>", proposer=REGISTRY, created_at=now,
        chain_id=CHAIN_ID, verifying_contract=REGISTRY, snapshot_block=SNAPSHOT, total_supply=Decimal(10**9 * WAD),
        proposer_power=Decimal(0), proposal_threshold=Decimal(0), quorum_fraction=Decimal("0.04"),
        voting_delay_seconds=0, voting_period_seconds=86400, timelock_seconds=0, grace_period_seconds=86400,
        voting_starts_at=now - timedelta(minutes=1), voting_ends_at=now + timedelta(days=1),
    )  # fmt: skip


def ballots(proposal_id: int, voters: list[tuple[coincurve.PrivateKey, str]]) -> list[dict[str, Any]]:
    from chain.eip712 import ballot_digest_fast, domain_separator

    separator = domain_separator(name="RiskGov", version="1", chain_id=CHAIN_ID, verifying_contract=REGISTRY)
    out: list[dict[str, Any]] = []
    for index, (key, address) in enumerate(voters):
        support = index % 3
        digest = ballot_digest_fast(separator, proposal_id=proposal_id, support=support, voter=address, nonce=0)
        out.append({"voter": address, "support": support, "nonce": 0, "signature": sign(key, digest)})
    return out


def bench_votes(url: str, proposal_id: int, bodies: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    chunks = [(url, proposal_id, bodies[i::workers]) for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.map(post_votes, [(url, proposal_id, [])] * workers)  # warm up imports and connections
        started = time.perf_counter()
        results = pool.map(post_votes, chunks)
        elapsed = time.perf_counter() - started
    accepted = sum(a for a, _ in results)
    return {"workers": workers, "votes": len(bodies), "accepted": accepted, "seconds": round(elapsed, 3),
            "votes_per_second": round(accepted / elapsed, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--votes", type=int, default=3000, help="votes posted through the endpoint")
    parser.add_argument("--recount", type=int, default=100_000, help="votes in the recounted proposal")
    options = parser.parse_args()
    url = fresh_django_database(DB_NAME)
    from django.db.models import F

    from riskgov.governance.models import Proposal, Vote
    from riskgov.governance.selectors.proposals import proposal_recount

    started = time.perf_counter()
    recount_voters = keys(options.recount)
    endpoint_voters = keys(options.votes, offset=options.recount)
    setup_chain([a for _, a in recount_voters] + [a for _, a in endpoint_voters])
    setup_seconds = time.perf_counter() - started

    endpoint_results = []
    for workers in (1, 2, 4):
        proposal = make_proposal(f"endpoint x{workers}")
        Vote.objects.filter(voter__in=[a for _, a in endpoint_voters]).delete()  # nonces start at 0 again
        endpoint_results.append(bench_votes(url, proposal.pk, ballots(proposal.pk, endpoint_voters), workers))
        print(f"vote endpoint, {workers} process(es): {endpoint_results[-1]['votes_per_second']} votes/s")

    proposal = make_proposal("recount")
    bodies = ballots(proposal.pk, recount_voters)
    powers = {a: (1 + i % 997) * WAD for i, (_, a) in enumerate(recount_voters)}
    Vote.objects.bulk_create(
        [Vote(proposal=proposal, voter=b["voter"], support=b["support"], weight=Decimal(powers[b["voter"]]),
              nonce=0, signature=b["signature"]) for b in bodies], batch_size=10_000,
    )  # fmt: skip
    totals = {0: 0, 1: 0, 2: 0}
    for b in bodies:
        totals[b["support"]] += powers[b["voter"]]
    Proposal.objects.filter(pk=proposal.pk).update(
        against_votes=F("against_votes") + totals[0], for_votes=F("for_votes") + totals[1],
        abstain_votes=F("abstain_votes") + totals[2], vote_count=len(bodies),
    )  # fmt: skip
    proposal.refresh_from_db()
    started = time.perf_counter()
    recount = proposal_recount(proposal)
    recount_seconds = time.perf_counter() - started
    assert recount.matches, recount.as_dict()
    print(f"recount of {recount.votes} votes: {recount_seconds:.2f} s (matches: {recount.matches})")

    best = max(r["votes_per_second"] for r in endpoint_results)
    result = {
        "benchmark": "governance",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "setup_seconds": round(setup_seconds, 1),
        "vote_endpoint": endpoint_results,
        "votes_per_second": best,
        "votes_per_second_goal": 500,
        "recount": {"votes": recount.votes, "seconds": round(recount_seconds, 3), "matches": recount.matches},
        "recount_goal_seconds": 10,
        "goals_met": best >= 500 and recount_seconds <= 10,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # 1-, 5- and 15-minute load averages at the start and at the end (other processes share the cores)
        "load_averages": {"start": LOAD_AT_START, "end": load_average()},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("votes_per_second", "recount", "goals_met")}))


if __name__ == "__main__":
    main()
