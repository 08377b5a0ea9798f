// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title RiskGov governance token
/// @notice ERC20 with EIP-2612 permits and ERC20Votes checkpoints (block-number clock).
///         Amounts have 18 decimals. Voting power counts only once delegated (self or other).
/// @dev Owner-mintable so a deployment can seed holders; the owner should be the DAO executor.
contract GovToken is ERC20, ERC20Permit, ERC20Votes, Ownable {
    error ZeroAddress();

    constructor(address initialOwner)
        ERC20("RiskGov Governance", "RGOV")
        ERC20Permit("RiskGov Governance")
        Ownable(initialOwner)
    {}

    /// @notice Mint `amount` (1e18 fixed point) to `to`. Owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        _mint(to, amount);
    }

    // Both ERC20 and ERC20Votes define _update; votes must move with balances.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    // Permit and Votes share one nonce space through Nonces.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
