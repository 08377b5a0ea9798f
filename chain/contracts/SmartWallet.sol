// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title Minimal contract wallet controlled by one EOA
/// @notice Accepts a signature (ERC-1271) when the owner EOA signed the given digest directly,
///         e.g. an EIP-712 digest such as a governance Ballot. `execute` lets the owner act as the
///         wallet, e.g. to delegate the wallet's governance tokens.
contract SmartWallet is IERC1271 {
    bytes4 internal constant MAGIC_VALUE = IERC1271.isValidSignature.selector; // 0x1626ba7e
    bytes4 internal constant INVALID_SIGNATURE = 0xffffffff;

    address public immutable owner;

    event Executed(address indexed target, uint256 value, bytes data);

    error NotOwner(address caller);
    error ZeroAddress();
    error CallFailed(bytes returndata);

    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
    }

    receive() external payable {}

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view override returns (bytes4) {
        // tryRecover: a malformed signature is "invalid", never a revert.
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer == owner) return MAGIC_VALUE;
        return INVALID_SIGNATURE;
    }

    /// @notice Call `target` with `value` wei and `data` as this wallet. Owner only.
    function execute(address target, uint256 value, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        (bool ok, bytes memory returndata) = target.call{value: value}(data);
        if (!ok) revert CallFailed(returndata);
        emit Executed(target, value, data);
        return returndata;
    }
}
