// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PriceFeed} from "../PriceFeed.sol";

/// @title Benchmark helper: many real protocol events per transaction
/// @notice Used by `python -m bench.indexer` only. It calls the protocol's own contracts in a loop so the
///         indexer reads genuine PriceFeed and GovToken logs, hundreds per transaction.
contract IndexerBenchBatcher {
    /// @notice `count` feed updates (needs the feed's KEEPER_ROLE): answers cycle through first .. first + 999.
    function updateAnswers(address feed, int256 first, uint256 count) external {
        for (uint256 i = 0; i < count; i++) {
            PriceFeed(feed).updateAnswer(first + int256(i % 1000));
        }
    }

    /// @notice `count` transfers of `amount` from this contract's balance, round-robin over `recipients`.
    function transfers(address token, address[] calldata recipients, uint256 amount, uint256 count) external {
        for (uint256 i = 0; i < count; i++) {
            require(IERC20(token).transfer(recipients[i % recipients.length], amount), "transfer failed");
        }
    }
}
