// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";

/// @title RiskGov on-chain governor
/// @notice OpenZeppelin Governor over the GovToken's ERC20Votes checkpoints (block-number clock), simple
///         For/Against/Abstain counting, quorum as a fraction of the supply at the snapshot (denominator 10000,
///         so 400 = 4 %), late-quorum protection, and a TimelockController that owns the RiskParameterRegistry.
///         Ballots are EIP-712 `Ballot` / `ExtendedBallot` typed data under the domain
///         {name, version "1", chainId, this address}, relayed with castVoteBySig / castVoteWithReasonAndParamsBySig.
///         The proposal guardian may cancel a proposal at any stage before execution, including while it waits in
///         the timelock (the guardian veto); without a guardian, proposers may cancel their own proposals.
///         `multicall` lets a relayer submit many signed ballots in one transaction.
contract RiskGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorPreventLateQuorum,
    GovernorProposalGuardian,
    Multicall
{
    struct Config {
        uint48 votingDelay; // blocks between propose and the snapshot / start of voting
        uint32 votingPeriod; // blocks voting stays open
        uint256 proposalThreshold; // votes (token wei) needed to propose
        uint256 quorumNumerator; // out of 10000
        uint48 lateQuorumExtension; // blocks voting stays open after quorum is first reached late
        address guardian; // may cancel at any stage before execution; address(0) for none
    }

    constructor(string memory name_, IVotes token_, TimelockController timelock_, Config memory config)
        Governor(name_)
        GovernorSettings(config.votingDelay, config.votingPeriod, config.proposalThreshold)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(config.quorumNumerator)
        GovernorTimelockControl(timelock_)
        GovernorPreventLateQuorum(config.lateQuorumExtension)
    {
        if (config.guardian != address(0)) _setProposalGuardian(config.guardian);
    }

    function quorumDenominator() public pure override returns (uint256) {
        return 10_000;
    }

    // The overrides below only resolve which base contract's rule applies; none adds behaviour.

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorPreventLateQuorum)
        returns (uint256)
    {
        return super.proposalDeadline(proposalId);
    }

    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorPreventLateQuorum) {
        super._tallyUpdated(proposalId);
    }

    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        return super._validateCancel(proposalId, caller);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}

/// @title RiskGov timelock
/// @notice OpenZeppelin TimelockController; after deployment it owns the RiskParameterRegistry, the governor is
///         its only proposer and canceller, anyone may execute a ready operation, and it administers itself.
contract RiskTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
