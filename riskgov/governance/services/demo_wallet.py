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

from chain.conf import dev_keys_allowed
from chain.deploy import DemoAccounts
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
