"""Vote relay benchmark: signed ballots relayed to a RiskGovernor on Anvil per second, and gas per relayed vote.

Starts its own Anvil (free port), deploys the protocol and a RiskGovernor, and gives ``--voters`` accounts
tokens and self-delegation. Then, for each batch size (1, 10, 50 by default) and each way of sending (one
``multicall`` transaction per batch, or one transaction per ballot), a fresh proposal gets one
``castVoteBySig`` ballot from every voter, signed with chain.eip712 under the Governor's domain, and
``chain.governor.relay_votes`` submits them: the figure covers the relayer's whole work (hasVoted check, a
simulation of each ballot, sending, receipts). Each configuration runs ``--repeats`` times; the median is kept.
Gas per vote is the receipts' gas divided by the ballots (a multicall's gas shared evenly).

The machine's load averages are recorded before and after each figure. Writes
bench/results/governance_relay.json. Usage: ``python -m bench.governance.relay [--voters 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from bench import load_average
from chain.anvil import start_anvil
from chain.client import ChainClient
from chain.deploy import DemoAccounts, GovernorSpec, deploy_governance, deploy_protocol
from chain.eip712 import Ballot, sign_ballot
from chain.governor import (
    SignedBallot,
    governor_domain,
    proposal_votes,
    registry_update_payload,
    relay_votes,
    vote_nonce,
)
from chain.registry import registry_targets

RESULTS = Path(__file__).resolve().parent.parent / "results" / "governance_relay.json"
WAD = 10**18
SPEC = GovernorSpec(
    voting_delay_blocks=1,
    voting_period_blocks=1_000_000,  # stays open for the whole run
    proposal_threshold=0,
    quorum_numerator=400,
    late_quorum_extension_blocks=0,
    timelock_delay_seconds=60,
)


def voters(count: int) -> list[LocalAccount]:
    return [Account.from_key(keccak(text=f"bench-relay-voter-{i}")) for i in range(count)]


def setup(client: ChainClient, count: int) -> tuple[dict[str, Any], dict[str, Any], list[LocalAccount]]:
    accounts = DemoAccounts.from_mnemonic(1)
    protocol = deploy_protocol(client, accounts.deployer)
    governance = deploy_governance(
        client, accounts.deployer, token=protocol["gov_token"], registry=protocol["registry"], spec=SPEC
    )
    token = client.contract("GovToken", protocol["gov_token"])
    people = voters(count)
    for i, voter in enumerate(people):
        client.rpc("anvil_setBalance", voter.address, hex(10 * WAD))
        client.transact(token.functions.mint(voter.address, (i + 1) * WAD), sender=accounts.deployer)
        client.transact(token.functions.delegate(voter.address), sender=voter)
    return dict(protocol), dict(governance), people


def one_run(
    client: ChainClient,
    protocol: dict[str, Any],
    governor: str,
    people: list[LocalAccount],
    relayer: LocalAccount,
    *,
    label: str,
    batch_size: int,
    multicall: bool,
) -> dict[str, Any]:
    """A fresh proposal, every voter's ballot on it, relayed; the relay is what is timed."""
    w3 = client.w3
    targets = registry_targets(
        {
            "imr": D("0.06"),
            "mmr": D("0.03"),
            "max_leverage": D("15"),
            "liquidation_penalty": D("0.01"),
            "insurance_fee_share": D("0.5"),
        },
        oi_cap=10**23,
    )
    payload = registry_update_payload(protocol["registry"], [("ETH-USD", targets)], f"relay benchmark {label}")
    client.transact(payload.propose_call(client.contract("RiskGovernor", governor)), sender=people[0])
    client.rpc("anvil_mine", hex(2))
    domain = governor_domain(w3, governor)
    ballots = []
    for voter in people:
        ballot = Ballot(payload.proposal_id, 1, voter.address, vote_nonce(w3, governor, voter.address))
        ballots.append(SignedBallot(ballot, sign_ballot(ballot, domain, voter.key)))
    before = load_average()
    started = time.perf_counter()
    results = relay_votes(w3, governor, relayer, ballots, batch_size=batch_size, multicall=multicall)
    seconds = time.perf_counter() - started
    after = load_average()
    counted = [r for r in results if r.status == "counted"]
    if len(counted) != len(ballots):
        raise RuntimeError(f"{len(ballots) - len(counted)} ballots not counted: {results[0].message}")
    tally = proposal_votes(w3, governor, payload.proposal_id)
    if tally.for_ != sum((i + 1) * WAD for i in range(len(people))):
        raise RuntimeError("the on-chain tally does not equal the ballots' weights")
    hashes = {HexBytes(r.tx_hash) for r in counted}
    gas = sum(int(w3.eth.get_transaction_receipt(h)["gasUsed"]) for h in hashes)
    return {
        "seconds": seconds,
        "transactions": len({r.tx_hash for r in counted}),
        "gas_per_vote": gas / len(counted),
        "load_before": before,
        "load_after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voters", type=int, default=100, help="ballots per relay (one per voter)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()

    node = start_anvil(accounts=2)
    try:
        client = ChainClient.connect(node.url, chain_id=node.chain_id)
        setup_started = time.perf_counter()
        protocol, governance, people = setup(client, options.voters)
        setup_seconds = time.perf_counter() - setup_started
        relayer = Account.from_key(keccak(text="bench-relay-relayer"))
        client.rpc("anvil_setBalance", relayer.address, hex(10_000 * WAD))
        governor = governance["governor"]
        # Warm-up, not recorded: every voter's first by-sig vote turns its Governor nonce from zero to one (20k gas
        # more than any later vote), so each configuration below measures the same storage writes.
        one_run(client, protocol, governor, people, relayer, label="warm-up", batch_size=50, multicall=True)
        runs = []
        for batch_size in options.batch_sizes:
            for multicall in (True, False):
                mode = "multicall" if multicall else "transaction_per_ballot"
                samples = [
                    one_run(client, protocol, governor, people, relayer, label=f"{mode}-{batch_size}-{r}",
                            batch_size=batch_size, multicall=multicall)
                    for r in range(options.repeats)
                ]  # fmt: skip
                median = statistics.median(s["seconds"] for s in samples)
                runs.append(
                    {
                        "mode": mode,
                        "batch_size": batch_size,
                        "ballots": options.voters,
                        "seconds_median": round(median, 3),
                        "seconds_all": [round(s["seconds"], 3) for s in samples],
                        "ballots_per_second": round(options.voters / median, 1),
                        "transactions": samples[0]["transactions"],
                        "gas_per_vote": round(statistics.mean(s["gas_per_vote"] for s in samples)),
                        "load": [{"before": s["load_before"], "after": s["load_after"]} for s in samples],
                    }
                )
                print(
                    json.dumps({k: runs[-1][k] for k in ("mode", "batch_size", "ballots_per_second", "gas_per_vote")})
                )
    finally:
        node.stop()

    by = {(r["mode"], r["batch_size"]): r for r in runs}
    ratios = {
        str(size): {
            "throughput_multicall_over_transactions": round(
                by[("multicall", size)]["ballots_per_second"]
                / by[("transaction_per_ballot", size)]["ballots_per_second"],
                2,
            ),
            "gas_multicall_over_transactions": round(
                by[("multicall", size)]["gas_per_vote"] / by[("transaction_per_ballot", size)]["gas_per_vote"], 3
            ),
        }
        for size in options.batch_sizes
    }
    result = {
        "benchmark": "governance_relay",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "node": "anvil (automine: one block per transaction)",
        "voters": options.voters,
        "setup_seconds": round(setup_seconds, 1),
        "runs": runs,
        "ratios_same_run": ratios,
        "notes": "ballots_per_second covers relay_votes end to end (one multicall eth_call reading nonces and "
        "hasVoted, one simulating each batch, send, receipts); gas_per_vote includes each transaction's 21000 base "
        "gas, shared by the ballots of a multicall; a batch of one is sent as a plain castVoteBySig transaction in "
        "both modes; every voter had voted once before (warm-up), so no nonce goes from zero to one",
    }
    options.output.parent.mkdir(exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
