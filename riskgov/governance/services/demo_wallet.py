"""The demo wallet: signs with Anvil's deterministic dev keys on the server, so a visitor without a wallet
extension can try governance. Only in demo mode (RISKGOV_DEMO_MODE) on Anvil's dev chain (31337).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, Web3Exception

from chain.conf import dev_keys_allowed
from chain.deploy import DemoAccounts
from chain.governor import revert_reason
from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from riskgov.governance.errors import GovernanceError
from riskgov.governance.selectors import chain_reads


class DemoWalletError(GovernanceError):
    """The demo wallet refused (not demo mode, unknown account, unsupported request)."""


@lru_cache(maxsize=1)
def _dev_accounts() -> dict[str, tuple[int, LocalAccount]]:
    accounts = DemoAccounts.from_mnemonic(30)
    return {holder.address: (index + 2, holder) for index, holder in enumerate(accounts.holders)}


def _account(address: str) -> LocalAccount:
    if not dev_keys_allowed():
        raise DemoWalletError(
            "demo_only", "The demo wallet works only in demo mode on the local dev chain.", status=403
        )
    if not is_address(address) or to_checksum_address(address) not in _dev_accounts():
        raise DemoWalletError("unknown_account", f"{address!r} is not one of the demo holder accounts", field="address")
    return _dev_accounts()[to_checksum_address(address)][1]


def demo_accounts() -> list[dict[str, Any]]:
    """Dev holder accounts (Anvil indices 2..31) the demo wallet can sign for."""
    return [{"address": address, "index": index} for address, (index, _) in _dev_accounts().items()]


def demo_sign(*, address: str, method: str, payload: Any) -> str:
    """personal_sign (payload: message text) or eth_signTypedData_v4 (payload: typed-data object or JSON)."""
    account = _account(address)
    if method == "personal_sign":
        signable = encode_defunct(text=str(payload))
    elif method == "eth_signTypedData_v4":
        document = json.loads(payload) if isinstance(payload, str) else payload
        signable = encode_typed_data(full_message=document)
    else:
        raise DemoWalletError("unsupported_method", f"the demo wallet does not sign {method!r}", field="method")
    return HexBytes(account.sign_message(signable).signature).to_0x_hex()


def demo_delegate(*, address: str) -> str:
    """Self-delegate the account's governance tokens (GovToken.delegate) and index the chain; returns the tx hash."""
    account = _account(address)
    client = chain_reads.chain_client()
    token = client.contract("GovToken", chain_reads.governance_chain().gov_token)
    receipt = client.transact(token.functions.delegate(account.address), sender=account)

    deployment = active_deployment()
    if deployment is not None:
        deployment_index(deployment=deployment, client=client)
    return HexBytes(receipt["transactionHash"]).to_0x_hex()


def demo_send(*, address: str, to: str, data: str, value: str = "0x0") -> str:
    """eth_sendTransaction for a dev account, to the deployment's Governor only (propose, queue, execute from the
    page); waits for the receipt and returns the hash. A call the chain would refuse is not sent: the decoded
    revert is the error."""
    account = _account(address)
    chain = chain_reads.governance_chain()
    if not chain.governor or not is_address(to) or to_checksum_address(to) != chain.governor:
        raise DemoWalletError(
            "unsupported_target", "the demo wallet sends transactions to the Governor only", field="to"
        )
    client = chain_reads.chain_client()
    w3 = client.w3
    try:
        tx: dict[str, Any] = {
            "from": account.address, "to": chain.governor, "data": str(data), "value": int(str(value), 16),
            "chainId": client.chain_id,
        }  # fmt: skip
        gas = w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
    except ContractLogicError as exc:
        raise DemoWalletError("reverted", f"the transaction would revert on chain: {revert_reason(exc.data)}") from exc  # type: ignore[arg-type]
    except (Web3Exception, ValueError) as exc:
        raise DemoWalletError("send_failed", f"the transaction cannot be sent: {exc}") from exc
    tx.update(
        gas=int(gas * 1.2), nonce=w3.eth.get_transaction_count(account.address, "pending"), gasPrice=w3.eth.gas_price
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    return HexBytes(tx_hash).to_0x_hex()
