// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title On-chain registry of per-market margin parameters
/// @notice Owned by the governance executor (timelock). Rates are fractions in 1e18 fixed point
///         (5% = 0.05e18); `maxLeverage` is a multiple in 1e18 fixed point (20x = 20e18);
///         `oiCap` caps each side's open interest in base units (1e18 fixed point).
///         Markets are `bytes32` ids: the ASCII symbol left-aligned and zero-padded ("ETH-USD").
///         Each update bumps the market's version, starting at 1.
contract RiskParameterRegistry is Ownable {
    uint256 public constant ONE = 1e18;

    struct Parameters {
        uint256 imr;
        uint256 mmr;
        uint256 maxLeverage;
        uint256 liquidationPenalty;
        uint256 insuranceFeeShare;
        uint256 oiCap;
        uint256 version;
        uint256 updatedAt;
    }

    mapping(bytes32 marketId => Parameters) private _parameters;
    bytes32[] private _markets;

    event ParametersUpdated(
        bytes32 indexed marketId,
        uint256 indexed version,
        uint256 imr,
        uint256 mmr,
        uint256 maxLeverage,
        uint256 liquidationPenalty,
        uint256 insuranceFeeShare,
        uint256 oiCap
    );

    error InvalidMarket();
    error MarketNotConfigured(bytes32 marketId);
    /// @dev Requires 0 < liquidationPenalty < mmr.
    error InvalidLiquidationPenalty(uint256 liquidationPenalty, uint256 mmr);
    /// @dev Requires mmr < imr.
    error InvalidMaintenanceMargin(uint256 mmr, uint256 imr);
    /// @dev Requires imr <= 1e18.
    error InvalidInitialMargin(uint256 imr);
    /// @dev Requires 1e18 <= maxLeverage and maxLeverage * imr <= 1e36 (leverage at most 1 / imr).
    error InvalidMaxLeverage(uint256 maxLeverage, uint256 imr);
    /// @dev Requires insuranceFeeShare <= 1e18.
    error InvalidInsuranceFeeShare(uint256 insuranceFeeShare);
    /// @dev Requires oiCap > 0.
    error InvalidOpenInterestCap(uint256 oiCap);

    constructor(address executor) Ownable(executor) {}

    /// @notice Set a market's parameters; see the contract notice for units. Owner (executor) only.
    /// @return version the market's new version number.
    function setParameters(
        bytes32 marketId,
        uint256 imr,
        uint256 mmr,
        uint256 maxLeverage,
        uint256 liquidationPenalty,
        uint256 insuranceFeeShare,
        uint256 oiCap
    ) external onlyOwner returns (uint256 version) {
        if (marketId == bytes32(0)) revert InvalidMarket();
        if (liquidationPenalty == 0 || liquidationPenalty >= mmr) {
            revert InvalidLiquidationPenalty(liquidationPenalty, mmr);
        }
        if (mmr >= imr) revert InvalidMaintenanceMargin(mmr, imr);
        if (imr > ONE) revert InvalidInitialMargin(imr);
        // imr <= 1e18 here, so the product cannot overflow for any leverage below 2**196.
        if (maxLeverage < ONE || maxLeverage > type(uint128).max || maxLeverage * imr > ONE * ONE) {
            revert InvalidMaxLeverage(maxLeverage, imr);
        }
        if (insuranceFeeShare > ONE) revert InvalidInsuranceFeeShare(insuranceFeeShare);
        if (oiCap == 0) revert InvalidOpenInterestCap(oiCap);

        Parameters storage p = _parameters[marketId];
        if (p.version == 0) _markets.push(marketId);
        version = p.version + 1;
        _parameters[marketId] = Parameters({
            imr: imr,
            mmr: mmr,
            maxLeverage: maxLeverage,
            liquidationPenalty: liquidationPenalty,
            insuranceFeeShare: insuranceFeeShare,
            oiCap: oiCap,
            version: version,
            updatedAt: block.timestamp
        });
        emit ParametersUpdated(marketId, version, imr, mmr, maxLeverage, liquidationPenalty, insuranceFeeShare, oiCap);
    }

    /// @notice A market's current parameters; reverts with MarketNotConfigured if never set.
    function getParameters(bytes32 marketId) external view returns (Parameters memory) {
        Parameters memory p = _parameters[marketId];
        if (p.version == 0) revert MarketNotConfigured(marketId);
        return p;
    }

    function isConfigured(bytes32 marketId) external view returns (bool) {
        return _parameters[marketId].version != 0;
    }

    /// @notice Current version of a market's parameters (0 when never set).
    function versionOf(bytes32 marketId) external view returns (uint256) {
        return _parameters[marketId].version;
    }

    /// @notice Every market ever configured, in first-configured order.
    function markets() external view returns (bytes32[] memory) {
        return _markets;
    }
}
