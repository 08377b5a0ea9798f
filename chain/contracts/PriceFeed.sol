// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title Keeper-updated price feed with Chainlink's AggregatorV3Interface
/// @notice Answers are quote per base with `decimals()` decimals (8 by convention, like Chainlink USD feeds).
///         Each update starts and answers a new round; round ids start at 1.
contract PriceFeed is AggregatorV3Interface, AccessControl {
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");

    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    uint8 public immutable override decimals;
    string public override description;
    uint256 public constant override version = 4;

    uint80 public latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    /// @dev Same signatures as Chainlink's AggregatorInterface events, so existing indexers understand them.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error InvalidAnswer(int256 answer);
    error NoDataPresent();
    error ZeroAddress();

    constructor(uint8 decimals_, string memory description_, address admin, address keeper) {
        if (admin == address(0)) revert ZeroAddress();
        decimals = decimals_;
        description = description_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (keeper != address(0)) _grantRole(KEEPER_ROLE, keeper);
    }

    /// @notice Publish a new answer (quote per base, `decimals` decimals). Keeper only; must be > 0.
    function updateAnswer(int256 answer) external onlyRole(KEEPER_ROLE) returns (uint80 roundId) {
        if (answer <= 0) revert InvalidAnswer(answer);
        roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round({answer: answer, startedAt: uint64(block.timestamp), updatedAt: uint64(block.timestamp)});
        emit NewRound(roundId, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    function getRoundData(uint80 roundId_)
        external
        view
        override
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _round(roundId_);
    }

    function latestRoundData()
        external
        view
        override
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _round(latestRound);
    }

    /// @notice Latest answer (Chainlink AggregatorInterface compatibility); reverts before the first update.
    function latestAnswer() external view returns (int256) {
        (, int256 answer,,,) = _round(latestRound);
        return answer;
    }

    function _round(uint80 roundId)
        private
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = _rounds[roundId];
        // Chainlink reverts with "No data present" for rounds that never existed.
        if (r.updatedAt == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }
}
