"""governance — token holders deciding margin parameters.

Owns: Sign-In with Ethereum, governance settings, proposals and their parameter changes, EIP-712 votes
(hashing in `chain.eip712`), the tally, state machine (`domain/state.py`, pure), timelock and execution,
impact previews (exposure and paired coverage runs), the public recount, governance pages and API.
May import: riskgov.core, riskgov.markets, chain, insurance.
"""
