"""End to end in Chromium: a wallet (an injected EIP-1193 provider signing with Anvil's dev keys) signs in, creates a
proposal, three holders vote, time passes, the proposal is queued and executed, and the market shows the new
parameters. Screenshots of each step go to test-artifacts/governance/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from celery.app.base import Celery
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from eth_account.messages import encode_defunct, encode_typed_data
from hexbytes import HexBytes

from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from chain.units import from_fixed, market_id
from insurance.models import EntryKind, InsuranceFund
from insurance.services.ledger import ledger_entry_record
from riskgov.core.models.versions import ChangeSource
from riskgov.core.roles import Role, role_assign
from riskgov.governance.models import DelegationRelay, GovernanceSettings, Proposal, ProposalState, RelayStatus
from riskgov.governance.tasks import governance_coverage_preview, governance_delegation_relay
from riskgov.markets.models import MarginParameters
from tests.conftest import REPO_ROOT, chromium_page
from tests.governance.test_chain_anvil import deployed, node  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "governance"

PROVIDER = """
(() => {
  window.ethereum = {
    async request({ method, params }) {
      const account = localStorage.getItem("e2e.account");
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return account ? [account] : [];
        case "eth_chainId":
          return "0x7a69";
        case "personal_sign":
          return await window.e2eSign("personal_sign", params[1], params[0]);
        case "eth_signTypedData_v4":
          return await window.e2eSign("eth_signTypedData_v4", params[0], params[1]);
        case "eth_sendTransaction":
          return await window.e2eSend(params[0]);
        default:
          throw Object.assign(new Error("unsupported method " + method), { code: 4200 });
      }
    },
    on() {},
    removeListener() {},
  };
})();
"""


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with chromium_page(ARTIFACTS, viewport={"width": 1360, "height": 1000}) as page:
        yield page


def _signer(accounts: Any) -> Any:
    keys = {h.address.lower(): h for h in accounts.holders}

    def sign(method: str, address: str, payload: str) -> str:
        account = keys[address.lower()]
        if method == "personal_sign":
            signable = encode_defunct(primitive=bytes(HexBytes(payload)))
        else:
            signable = encode_typed_data(full_message=json.loads(payload))
        return HexBytes(account.sign_message(signable).signature).to_0x_hex()

    return sign


@pytest.mark.django_db(transaction=True)
def test_wallet_proposal_votes_queue_execute(deployed: dict[str, Any], live_server: Any, browser_page: Any) -> None:  # noqa: F811
    page, env, base = browser_page, deployed, live_server.url
    GovernanceSettings.objects.filter(pk=1).update(voting_delay_seconds=0, voting_period_seconds=300,
                                                   timelock_seconds=60, quorum_fraction=Decimal("0.01"))  # fmt: skip
    fund = InsuranceFund.objects.create(name="Protocol insurance fund")
    ledger_entry_record(fund=fund, kind=EntryKind.DEPOSIT, amount=Decimal("2000000"), external_ref="e2e-seed",
                        note="seed", recorded_by="e2e")  # fmt: skip
    token = env["token"]
    ranked = sorted(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call(), reverse=True)
    proposer, voters = ranked[0], ranked[:3]
    page.expose_function("e2eSign", _signer(env["accounts"]))
    page.add_init_script(PROVIDER)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def use_account(address: str) -> None:
        page.evaluate(
            "a => { localStorage.setItem('e2e.account', a); sessionStorage.setItem('riskgov.wallet', 'injected'); }",
            address,
        )

    # 1. Connect and sign in (EIP-4361 through personal_sign).
    page.goto(f"{base}/governance/")
    page.wait_for_selector("html[data-wallet-restored='1']", state="attached")  # no reconnect races the click
    use_account(proposer)
    page.click("#wallet-connect")
    page.wait_for_selector("#wallet-signin:not([hidden])")
    shot("01-connected")
    page.click("#wallet-signin")
    page.wait_for_selector(f"#wallet-status:has-text('Signed in as {proposer}')")
    shot("02-signed-in")

    # 2. Create a proposal through the form.
    page.goto(f"{base}/governance/new/")
    page.fill("input[name=title]", "Raise ETH maintenance margin to 3.5 %")
    page.fill(
        "textarea[name=description]",
        "ETH volatility doubled this month.\n\n- mmr 3 % → **3.5 %**\n- max leverage 20× → 18×",
    )
    page.select_option("select[name=changes-0-market]", "ETH")
    page.select_option("select[name=changes-0-field]", "mmr")
    page.fill("input[name=changes-0-new_value]", "0.035")
    page.select_option("select[name=changes-1-market]", "ETH")
    page.select_option("select[name=changes-1-field]", "max_leverage")
    page.fill("input[name=changes-1-new_value]", "18")
    shot("03-create-form")
    page.click("button:has-text('Create proposal')")
    page.wait_for_selector("#proposal-state")
    proposal = Proposal.objects.get()
    assert page.url.rstrip("/").endswith(f"/governance/{proposal.pk}")
    shot("04-proposal-created")
    # the request only enqueued the coverage preview; run its task as a worker would, the page polls for it
    assert page.locator("#coverage-preview[data-state=queued]").count() == 1
    governance_coverage_preview(proposal_id=proposal.pk)
    page.wait_for_selector(".coverage-side a >> nth=1", timeout=15_000)
    assert page.locator(".coverage-side a").count() == 2  # current vs proposed coverage runs, linked

    # 3. Three holders vote with EIP-712 ballots.
    for index, voter in enumerate(voters):
        use_account(voter)
        page.reload()
        page.wait_for_selector(f"#wallet-status:has-text('{voter}')")
        page.fill(".vote-box textarea[name=reason]", f"holder {index + 1}: agreed")
        page.click(".vote-box [data-vote='1']")
        page.wait_for_selector(".vote-result.ok")
        page.wait_for_load_state("load")
        page.wait_for_selector(f"#voters:has-text('{voter}')")
        shot(f"05-vote-{index + 1}")
    assert proposal.votes.count() == 3
    # each reason was signed with its ballot (ExtendedBallot), so it is shown as the voter's
    assert sorted(proposal.votes.values_list("reason", "reason_signed")) == [
        (f"holder {index + 1}: agreed", True) for index in range(3)
    ]
    assert page.inner_text("#proposal-state") == "Active"
    # A second ballot from the same holder is refused, and the page shows the server's reason.
    page.click(".vote-box [data-vote='0']")
    page.wait_for_selector(".vote-result.error")
    refusal = page.inner_text(".vote-result")
    assert refusal.startswith("Already voted: ") and "has already voted" in refusal
    assert proposal.votes.count() == 3

    # 4. Time passes: voting ends, the guardian queues it (off-chain the periodic task would too), the timelock
    # runs, the guardian executes it. Queue and execute buttons are shown only to those holding the permission.
    guardian = get_user_model().objects.create_user("guardian", password="pw")
    role_assign(user=guardian, roles=[Role.GUARDIAN])
    signed_in = Client()
    signed_in.force_login(guardian)
    guardian_session = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value,
    }
    with time_machine.travel(proposal.voting_ends_at + timedelta(seconds=2), tick=True):
        page.reload()
        assert page.inner_text("#proposal-state") == "Succeeded"
        page.click("#recount-button")
        page.wait_for_selector(".badge-ok:has-text('Recount matches')")
        assert page.locator("#queue-button").count() == 0  # a holder's wallet does not queue
        page.context.add_cookies([{**guardian_session, "url": base}])
        page.reload()
        page.click("#queue-button")
        page.wait_for_selector("#proposal-state:has-text('Queued')")
        shot("06-queued")
    proposal.refresh_from_db()
    with time_machine.travel(proposal.eta + timedelta(seconds=5), tick=True):
        page.reload()
        page.click("#execute-button")
        page.wait_for_selector("#proposal-state:has-text('Executed')")
        shot("07-executed")
        # 5. The market page shows the new version (in force from the execution time); the registry holds it too.
        page.goto(f"{base}/markets/ETH/")
        page.wait_for_selector("text=Governance proposal")
        shot("08-market-new-parameters")
        stats = page.inner_text(".stats")
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.EXECUTED
    version = MarginParameters.objects.filter(market__symbol="ETH").latest("version")
    assert (version.source, version.mmr, version.max_leverage) == (
        ChangeSource.PROPOSAL,
        Decimal("0.035"),
        Decimal("18"),
    )
    assert "MMR 3.50 %" in stats and "18.00x" in stats and "version 2" in stats
    onchain = env["registry"].functions.getParameters(market_id("ETH-USD")).call()
    assert (from_fixed(onchain[1]), from_fixed(onchain[2])) == (Decimal("0.035"), Decimal("18"))


NO_CHAIN_PROVIDER = """
window.ethereum = { async request({ method }) {
  if (method === "eth_chainId") return "0x1";
  if (method === "eth_requestAccounts" || method === "eth_accounts") return ["0x" + "00".repeat(19) + "01"];
  throw new Error("unsupported");
} };
"""


@pytest.mark.django_db(transaction=True)
def test_no_wallet_and_wrong_chain_messages(live_server: Any, browser_page: Any, settings: Any) -> None:
    settings.RISKGOV_DEMO_MODE = False
    page = browser_page
    page.goto(f"{live_server.url}/governance/")
    page.click("#wallet-connect")
    page.wait_for_selector("#wallet-message:has-text('No browser wallet found')")
    assert page.locator(".demo-wallet").count() == 0  # the demo wallet exists only in demo mode
    shot_path = ARTIFACTS / "09-no-wallet.png"
    page.screenshot(path=str(shot_path))
    page.add_init_script(NO_CHAIN_PROVIDER)
    page.reload()
    page.click("#wallet-connect")
    page.wait_for_selector("#wallet-message:has-text('is on chain 1')")
    assert page.is_visible("#wallet-switch")
    page.screenshot(path=str(ARTIFACTS / "10-wrong-chain.png"))


@pytest.mark.django_db(transaction=True)
def test_delegation_from_the_ui(
    deployed: dict[str, Any],  # noqa: F811
    live_server: Any,
    browser_page: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Delegate by transaction, by a relayed signature and to oneself from the delegates page; publish a statement."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(app: Celery, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        sent.append((name, dict(kwargs or {})))  # the test runs the relay itself, as the worker would
        return app.AsyncResult("recorded")

    monkeypatch.setattr(Celery, "send_task", record)
    page, env, base = browser_page, deployed, live_server.url
    token, client = env["token"], env["client"]
    ranked = sorted(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call(), reverse=True)
    delegate, by_tx, by_sig = ranked[0], ranked[-1], ranked[-2]
    idle = env["summary"]["undelegated"][0]
    page.expose_function("e2eSign", _signer(env["accounts"]))

    def send(tx: dict[str, str]) -> str:  # Anvil's dev accounts are unlocked: the node signs, as a wallet would
        tx_hash = client.w3.eth.send_transaction({"from": tx["from"], "to": tx["to"], "data": tx["data"]})
        client.wait_for_receipt(tx_hash)
        return HexBytes(tx_hash).to_0x_hex()

    page.expose_function("e2eSend", send)
    page.add_init_script(PROVIDER)

    def index() -> None:
        deployment = active_deployment()
        assert deployment is not None
        deployment_index(deployment=deployment, client=client)

    def connect(address: str, url: str) -> None:
        """Open `url` with the wallet on `address`: the wallet script reconnects a remembered injected wallet."""
        page.goto(url)
        page.wait_for_selector("html[data-wallet-restored='1']", state="attached")
        page.evaluate(
            "a => { localStorage.setItem('e2e.account', a); sessionStorage.setItem('riskgov.wallet', 'injected'); }",
            address,
        )
        page.reload()
        page.wait_for_selector(f"#wallet-status:has-text('{address}')")
        page.wait_for_selector("#delegate-tx:not([disabled])")

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    # 1. A bad address is refused in the form, naming the field.
    delegates_url = f"{base}/governance/delegates/"
    connect(by_tx, delegates_url)
    page.fill("#delegatee-input", "0x1234")
    page.click("#delegate-tx")
    page.wait_for_selector("#delegate-result[data-state=error]")
    assert "delegatee" in page.inner_text("#delegate-result")

    # 2. By transaction: pick the delegate from the table, the wallet sends delegate(delegatee).
    page.click(f"tr[data-delegate='{delegate}'] [data-delegate-to]")
    assert page.input_value("#delegatee-input") == delegate
    page.click("#delegate-tx")
    page.wait_for_selector("#delegate-result[data-state=ok]")
    assert "Delegation sent (transaction" in page.inner_text("#delegate-result")
    shot("11-delegated-by-transaction")
    assert token.functions.delegates(by_tx).call() == delegate

    # 3. By signature: the wallet signs delegateBySig typed data, the server relays it and shows the outcome.
    connect(by_sig, delegates_url)
    page.fill("#delegatee-input", delegate)
    page.click("#delegate-sig")
    deadline = time.monotonic() + 30
    while not DelegationRelay.objects.exists() and time.monotonic() < deadline:
        page.wait_for_timeout(200)  # lets Playwright run the page's signing callback meanwhile
    assert DelegationRelay.objects.exists(), page.inner_text("#delegate-result")
    relay = DelegationRelay.objects.get()
    assert sent == [("riskgov.governance_delegation_relay", {"relay_id": relay.pk})]
    assert governance_delegation_relay(relay_id=relay.pk) == RelayStatus.SUCCEEDED
    page.wait_for_selector("#delegate-result[data-state=ok]", timeout=15_000)
    relay.refresh_from_db()
    assert relay.tx_hash in page.inner_text("#delegate-result")
    shot("12-delegated-by-signature")
    assert token.functions.delegates(by_sig).call() == delegate

    # 4. Self-delegation stays one click.
    connect(idle, delegates_url)
    page.click("#delegate-self")
    page.wait_for_selector("#delegate-result[data-state=ok]")
    assert token.functions.delegates(idle).call() == idle

    # 5. Once indexed, the delegates page and the delegate's page show the moved power; the delegate signs a statement.
    index()
    expected = token.functions.getVotes(delegate).call()
    connect(delegate, f"{base}/governance/holders/{delegate}/")
    assert page.inner_text("#holder-votes") == f"{Decimal(expected) / 10**18:,.0f}"
    assert page.locator(f"#holder-delegators a[title='{by_tx}'], #holder-delegators a[title='{by_sig}']").count() == 2
    page.fill("#statement-form textarea[name=statement]", "I vote for **conservative** margins.")
    page.click("#statement-sign")
    page.wait_for_selector("#statement-current strong:has-text('conservative')")
    shot("13-holder-statement")
    page.goto(delegates_url)
    first_row = page.locator("#delegates-table tbody tr").first
    assert first_row.get_attribute("data-delegate") == delegate
    assert "I vote for conservative margins." in first_row.inner_text()
