"""End to end in Chromium, on-chain mode: the proposer's wallet (an injected EIP-1193 provider over Anvil's dev
accounts) signs in, creates a proposal, reads its Governor payload and sends propose; two holders sign ballots
that the worker relays; the page shows the Governor's tally matching the collected ballots; a holder's wallet
queues; execute before the timelock's delay shows the revert; after it, execute updates the registry and the
market's parameters. Screenshots go to test-artifacts/governance/onchain-*.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from hexbytes import HexBytes

from chain.units import from_fixed, market_id
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.models import Proposal, ProposalState
from riskgov.governance.services.tick import governance_tick_run
from riskgov.markets.models import MarginParameters
from tests.governance.test_e2e import ARTIFACTS, PROVIDER, _signer, browser_page  # noqa: F401  (fixture)
from tests.governance.test_onchain_lifecycle import (  # noqa: F401  (fixtures)
    TIMELOCK_SECONDS,
    VOTING_PERIOD_SECONDS,
    _wait_relayed,
    onchain,
    onchain_node,
)
from tests.governance.test_onchain_lifecycle import _index as index_chain

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_onchain_wallet_proposes_relays_queues_and_executes(
    onchain: dict[str, Any],  # noqa: F811
    live_server: Any,
    browser_page: Any,  # noqa: F811
) -> None:
    page, env, base, client = browser_page, onchain, live_server.url, onchain["client"]
    proposer, voters = env["holders"][0], env["holders"][:2]
    keys = env["keys"]
    page.expose_function("e2eSign", _signer(type("Accounts", (), {"holders": list(keys.values())})()))

    def send(tx: dict[str, str]) -> str:  # Anvil's dev accounts are unlocked: the node signs, as a wallet would
        tx_hash = client.w3.eth.send_transaction({"from": tx["from"], "to": tx["to"], "data": tx["data"]})
        client.wait_for_receipt(tx_hash)
        return HexBytes(tx_hash).to_0x_hex()

    page.expose_function("e2eSend", send)
    page.add_init_script(PROVIDER)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"onchain-{name}.png"), full_page=True)

    def use_account(address: str) -> None:
        page.evaluate(
            "a => { localStorage.setItem('e2e.account', a); sessionStorage.setItem('riskgov.wallet', 'injected'); }",
            address,
        )
        page.reload()
        page.wait_for_selector(f"#wallet-status:has-text('{address}')")

    def tick() -> None:  # what beat's indexer and governance tick do every few seconds
        index_chain(env)
        governance_tick_run()

    # 1. The proposer signs in and creates the proposal through the form.
    page.goto(f"{base}/governance/")
    page.wait_for_selector("html[data-wallet-restored='1']", state="attached")
    use_account(proposer)
    page.click("#wallet-signin")
    page.wait_for_selector(f"#wallet-status:has-text('Signed in as {proposer}')")
    page.goto(f"{base}/governance/new/")
    page.fill("input[name=title]", "Raise ETH maintenance margin to 3.5 %")
    page.fill("textarea[name=description]", "Settled on the Governor.")
    page.select_option("select[name=changes-0-market]", "ETH")
    page.select_option("select[name=changes-0-field]", "mmr")
    page.fill("input[name=changes-0-new_value]", "0.035")
    page.click("button:has-text('Create proposal')")
    page.wait_for_selector("#onchain-awaiting")
    proposal = Proposal.objects.get()
    payload_text = page.inner_text("#onchain-payload")
    assert env["registry"].address in payload_text and "setParameters(bytes32" in payload_text
    assert proposal.onchain_payload["calldatas"][0] in page.inner_html("#onchain-payload")
    shot("01-payload-before-propose")

    # 2. The proposer's wallet sends propose; the page records it from the receipt.
    page.click("#onchain-propose")
    page.wait_for_selector("#onchain-proposed", timeout=20_000)
    proposal.refresh_from_db()
    assert proposal.propose_tx_hash and proposal.propose_tx_hash in page.inner_html("#onchain-proposed")
    shot("02-proposed")
    client.rpc("evm_mine")
    tick()

    # 3. Two holders vote; the worker relays each ballot to the Governor.
    for voter in voters:
        use_account(voter)
        page.wait_for_selector(".vote-box [data-vote='1']")
        page.click(".vote-box [data-vote='1']")
        page.wait_for_selector(".vote-result.ok, .vote-result.error")
        assert "Vote recorded" in page.inner_text(".vote-result"), page.inner_text(".vote-result")
        page.wait_for_load_state("load")
    _wait_relayed(proposal, 2)
    index_chain(env)
    page.reload()
    page.wait_for_selector("#onchain-tally-badge:has-text('On-chain tally matches')")
    assert page.locator("#voters .relay-counted").count() == 2
    shot("03-tally-on-chain-matches")

    # 4. Voting ends on chain; a holder's wallet queues.
    client.rpc("anvil_mine", hex(VOTING_PERIOD_SECONDS // 12 + 1))
    tick()
    page.reload()
    assert page.inner_text("#proposal-state") == "Succeeded"
    page.click("#onchain-queue")
    page.wait_for_selector("#proposal-state:has-text('Queued')", timeout=20_000)
    shot("04-queued")

    # 5. Execute before the timelock's delay: the page shows the revert and sends nothing.
    page.click("#onchain-execute")
    page.wait_for_selector("#onchain-result.error")
    early = page.inner_text("#onchain-result")
    assert "would revert on chain" in early and "TimelockUnexpectedOperationState" in early, early
    shot("05-execute-too-early")

    # 6. After the delay, execute: the registry and the parameter versions follow.
    client.rpc("evm_increaseTime", TIMELOCK_SECONDS + 1)
    client.rpc("evm_mine")
    page.click("#onchain-execute")
    page.wait_for_selector("#proposal-state:has-text('Executed')", timeout=20_000)
    page.wait_for_selector("#executions")
    shot("06-executed")
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.EXECUTED
    assert proposal.executed_at is not None and proposal.executed_at <= timezone.now()
    version = MarginParameters.objects.filter(market__symbol="ETH").latest("version")
    assert (version.source, version.mmr) == (ChangeSource.PROPOSAL, from_fixed(35 * 10**15))
    onchain_params = env["registry"].functions.getParameters(market_id("ETH-USD")).call()
    assert from_fixed(onchain_params[1]) == version.mmr
