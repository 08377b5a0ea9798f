// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {RiskParameterRegistry} from "./RiskParameterRegistry.sol";

/// @title Isolated-margin perpetual positions (accounting only)
/// @notice Units, all 1e18 fixed point:
///         - size: signed base units (> 0 long, < 0 short);
///         - prices (entry, mark): quote per base, normalised from the feed's decimals to 1e18;
///         - collateral, notional, equity, PnL, penalty, bad debt: quote units.
///         With q = |size|, p = mark price: notional N = q * p; equity E = C + size * (p - entry);
///         a position is liquidatable when E < mmr * N. Opening, increasing and withdrawing need
///         E >= imr * N and N <= maxLeverage * E. Parameters come from the RiskParameterRegistry.
/// @dev No tokens move: collateral is an accounting number. Liquidation is permissionless but only
///      succeeds against a position below maintenance margin; the penalty feeds `insuranceFund`,
///      which absorbs bad debt first; whatever it cannot absorb accrues in `uncoveredBadDebt`.
contract PerpMarket is AccessControl {
    using Math for uint256;

    bytes32 public constant MARKET_ADMIN_ROLE = keccak256("MARKET_ADMIN_ROLE");
    uint256 public constant ONE = 1e18;
    /// @notice Input bounds that keep every product below 2**255.
    uint256 public constant MAX_SIZE = 1e36;
    uint256 public constant MAX_COLLATERAL = 1e36;
    uint256 public constant MAX_PRICE = 1e36;

    struct Market {
        AggregatorV3Interface feed;
        uint8 feedDecimals;
        uint64 maxPriceAge;
        bool listed;
    }

    struct Position {
        address account;
        bytes32 marketId;
        int256 size;
        uint256 entryPrice;
        uint256 collateral;
        uint64 openedAt;
    }

    struct Health {
        int256 equity;
        uint256 notional;
        uint256 maintenanceMargin;
        bool liquidatable;
    }

    RiskParameterRegistry public immutable registry;

    mapping(bytes32 marketId => Market) public markets;
    mapping(uint256 positionId => Position) private _positions;
    /// @notice Open interest per side in base units (1e18).
    mapping(bytes32 marketId => uint256) public longOpenInterest;
    mapping(bytes32 marketId => uint256) public shortOpenInterest;
    uint256 public nextPositionId = 1;
    /// @notice Quote units (1e18): liquidation penalties in, absorbed bad debt out.
    uint256 public insuranceFund;
    uint256 public uncoveredBadDebt;

    event MarketListed(bytes32 indexed marketId, address indexed feed, uint256 maxPriceAge);
    /// @dev Opened / CollateralChanged / Resized carry the position's state after the change.
    event PositionOpened(
        uint256 indexed positionId,
        address indexed account,
        bytes32 indexed marketId,
        int256 size,
        uint256 entryPrice,
        uint256 collateral,
        uint256 price
    );
    event CollateralChanged(
        uint256 indexed positionId,
        address indexed account,
        bytes32 indexed marketId,
        int256 size,
        uint256 entryPrice,
        uint256 collateral,
        int256 collateralDelta
    );
    event PositionResized(
        uint256 indexed positionId,
        address indexed account,
        bytes32 indexed marketId,
        int256 size,
        uint256 entryPrice,
        uint256 collateral,
        int256 sizeDelta,
        uint256 price,
        int256 realizedPnl
    );
    /// @dev Closed / Liquidated carry the position's state just before it was removed.
    event PositionClosed(
        uint256 indexed positionId,
        address indexed account,
        bytes32 indexed marketId,
        int256 size,
        uint256 entryPrice,
        uint256 collateral,
        uint256 price,
        int256 realizedPnl,
        uint256 payout
    );
    event PositionLiquidated(
        uint256 indexed positionId,
        address indexed account,
        bytes32 indexed marketId,
        address liquidator,
        int256 size,
        uint256 entryPrice,
        uint256 collateral,
        uint256 price,
        uint256 penalty,
        uint256 badDebt
    );

    error ZeroAddress();
    error InvalidMarket();
    error InvalidMaxPriceAge();
    error MarketNotListed(bytes32 marketId);
    error InvalidPrice(bytes32 marketId, int256 answer);
    error StalePrice(bytes32 marketId, uint256 updatedAt);
    error ZeroSize();
    error SizeTooLarge(int256 size);
    error ZeroAmount();
    error CollateralTooLarge(uint256 collateral);
    error PositionNotFound(uint256 positionId);
    error NotPositionOwner(uint256 positionId, address caller);
    error InsufficientMargin(int256 equity, uint256 required);
    error LeverageTooHigh(uint256 notional, int256 equity, uint256 maxLeverage);
    error InsufficientCollateral(uint256 collateral, uint256 amount);
    error InvalidResize(int256 size, int256 sizeDelta);
    error OpenInterestCapExceeded(bytes32 marketId, uint256 openInterest, uint256 oiCap);
    error PositionHealthy(uint256 positionId, int256 equity, uint256 maintenanceMargin);
    error PositionLiquidatable(uint256 positionId, int256 equity, uint256 maintenanceMargin);

    constructor(RiskParameterRegistry registry_, address admin) {
        if (address(registry_) == address(0) || admin == address(0)) revert ZeroAddress();
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MARKET_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- admin

    /// @notice List (or re-point) a market at a Chainlink-compatible feed; prices older than
    ///         `maxPriceAge` seconds are refused. Market admin only.
    function listMarket(bytes32 marketId, AggregatorV3Interface feed, uint64 maxPriceAge)
        external
        onlyRole(MARKET_ADMIN_ROLE)
    {
        if (marketId == bytes32(0)) revert InvalidMarket();
        if (address(feed) == address(0)) revert ZeroAddress();
        if (maxPriceAge == 0) revert InvalidMaxPriceAge();
        markets[marketId] = Market({feed: feed, feedDecimals: feed.decimals(), maxPriceAge: maxPriceAge, listed: true});
        emit MarketListed(marketId, address(feed), maxPriceAge);
    }

    // ------------------------------------------------------------ positions

    /// @notice Open a position of `size` base units (signed) backed by `collateral` quote units.
    function openPosition(bytes32 marketId, int256 size, uint256 collateral) external returns (uint256 positionId) {
        _checkSize(size);
        if (size == 0) revert ZeroSize();
        if (collateral == 0) revert ZeroAmount();
        if (collateral > MAX_COLLATERAL) revert CollateralTooLarge(collateral);
        uint256 price = _markPrice(marketId);
        RiskParameterRegistry.Parameters memory params = registry.getParameters(marketId);

        _checkInitialMargin(int256(collateral), _notional(size, price), params);
        _increaseOpenInterest(marketId, size, params.oiCap);

        positionId = nextPositionId++;
        _positions[positionId] = Position({
            account: msg.sender,
            marketId: marketId,
            size: size,
            entryPrice: price,
            collateral: collateral,
            openedAt: uint64(block.timestamp)
        });
        emit PositionOpened(positionId, msg.sender, marketId, size, price, collateral, price);
    }

    /// @notice Add `amount` quote units of collateral. Position owner only.
    function addCollateral(uint256 positionId, uint256 amount) external {
        Position storage pos = _ownedPosition(positionId);
        if (amount == 0) revert ZeroAmount();
        uint256 collateral = pos.collateral + amount;
        if (collateral > MAX_COLLATERAL) revert CollateralTooLarge(collateral);
        pos.collateral = collateral;
        emit CollateralChanged(positionId, pos.account, pos.marketId, pos.size, pos.entryPrice, collateral, int256(amount));
    }

    /// @notice Withdraw `amount` quote units of collateral; the rest must still meet initial margin.
    function removeCollateral(uint256 positionId, uint256 amount) external {
        Position storage pos = _ownedPosition(positionId);
        if (amount == 0) revert ZeroAmount();
        if (amount > pos.collateral) revert InsufficientCollateral(pos.collateral, amount);
        uint256 price = _markPrice(pos.marketId);
        RiskParameterRegistry.Parameters memory params = registry.getParameters(pos.marketId);
        uint256 collateral = pos.collateral - amount;
        int256 equity = int256(collateral) + _pnl(pos.size, pos.entryPrice, price);
        _checkInitialMargin(equity, _notional(pos.size, price), params);
        pos.collateral = collateral;
        emit CollateralChanged(positionId, pos.account, pos.marketId, pos.size, pos.entryPrice, collateral, -int256(amount));
    }

    /// @notice Change the size by `sizeDelta` base units without flipping side or reaching zero
    ///         (use closePosition). Increasing averages the entry price and needs initial margin;
    ///         reducing realises PnL of the reduced part into collateral and must stay above maintenance.
    function resizePosition(uint256 positionId, int256 sizeDelta) external {
        Position storage pos = _ownedPosition(positionId);
        if (sizeDelta == 0) revert ZeroSize();
        _checkSize(sizeDelta);
        int256 size = pos.size;
        int256 newSize = size + sizeDelta;
        _checkSize(newSize);
        if (newSize == 0 || (newSize > 0) != (size > 0)) revert InvalidResize(size, sizeDelta);

        uint256 price = _markPrice(pos.marketId);
        RiskParameterRegistry.Parameters memory params = registry.getParameters(pos.marketId);
        int256 realizedPnl;
        if ((sizeDelta > 0) == (size > 0)) {
            uint256 q = _abs(size);
            uint256 dq = _abs(sizeDelta);
            // Weighted-average entry keeps the unrealised PnL of the existing size unchanged.
            pos.entryPrice = (q * pos.entryPrice + dq * price) / (q + dq);
            int256 equity = int256(pos.collateral) + _pnl(newSize, pos.entryPrice, price);
            _checkInitialMargin(equity, _notional(newSize, price), params);
            _increaseOpenInterest(pos.marketId, sizeDelta, params.oiCap);
        } else {
            realizedPnl = _pnl(-sizeDelta, pos.entryPrice, price);
            int256 collateral = int256(pos.collateral) + realizedPnl;
            int256 equity = collateral + _pnl(newSize, pos.entryPrice, price);
            uint256 maintenance = _maintenanceMargin(_notional(newSize, price), params);
            if (collateral < 0 || equity < int256(maintenance)) revert InsufficientMargin(equity, maintenance);
            pos.collateral = uint256(collateral);
            _decreaseOpenInterest(pos.marketId, -sizeDelta);
        }
        pos.size = newSize;
        emit PositionResized(
            positionId, pos.account, pos.marketId, newSize, pos.entryPrice, pos.collateral, sizeDelta, price, realizedPnl
        );
    }

    /// @notice Close a healthy position at the mark price; payout = collateral + PnL (accounting only).
    ///         A position below maintenance margin can only be liquidated.
    function closePosition(uint256 positionId) external returns (uint256 payout) {
        Position memory pos = _ownedPosition(positionId);
        uint256 price = _markPrice(pos.marketId);
        RiskParameterRegistry.Parameters memory params = registry.getParameters(pos.marketId);
        Health memory h = _health(pos, price, params);
        if (h.liquidatable) revert PositionLiquidatable(positionId, h.equity, h.maintenanceMargin);
        int256 pnl = _pnl(pos.size, pos.entryPrice, price);
        payout = uint256(h.equity);
        _decreaseOpenInterest(pos.marketId, pos.size);
        delete _positions[positionId];
        emit PositionClosed(
            positionId, pos.account, pos.marketId, pos.size, pos.entryPrice, pos.collateral, price, pnl, payout
        );
    }

    /// @notice Liquidate a position below maintenance margin at the mark price x. Anyone may call.
    ///         penalty = min(liquidationPenalty * q * x, max(0, E)); badDebt = max(0, -E).
    function liquidate(uint256 positionId) external returns (uint256 penalty, uint256 badDebt) {
        Position memory pos = _existingPosition(positionId);
        uint256 price = _markPrice(pos.marketId);
        RiskParameterRegistry.Parameters memory params = registry.getParameters(pos.marketId);
        Health memory h = _health(pos, price, params);
        if (!h.liquidatable) revert PositionHealthy(positionId, h.equity, h.maintenanceMargin);

        if (h.equity > 0) {
            penalty = Math.min(h.notional.mulDiv(params.liquidationPenalty, ONE), uint256(h.equity));
            insuranceFund += penalty;
        } else {
            badDebt = uint256(-h.equity);
            // The fund absorbs what it can; the rest stays visible as uncovered.
            uint256 covered = Math.min(insuranceFund, badDebt);
            insuranceFund -= covered;
            uncoveredBadDebt += badDebt - covered;
        }
        _decreaseOpenInterest(pos.marketId, pos.size);
        delete _positions[positionId];
        emit PositionLiquidated(
            positionId, pos.account, pos.marketId, msg.sender, pos.size, pos.entryPrice, pos.collateral, price, penalty, badDebt
        );
    }

    // ---------------------------------------------------------------- views

    /// @notice A position's state; reverts with PositionNotFound once closed or liquidated.
    function getPosition(uint256 positionId) external view returns (Position memory) {
        return _existingPosition(positionId);
    }

    /// @notice Equity, notional and maintenance margin (quote units, 1e18) at the current mark price.
    function positionHealth(uint256 positionId) external view returns (Health memory) {
        Position memory pos = _existingPosition(positionId);
        uint256 price = _markPrice(pos.marketId);
        return _health(pos, price, registry.getParameters(pos.marketId));
    }

    /// @notice The market's feed price normalised to 1e18 quote per base; reverts when stale or invalid.
    function markPrice(bytes32 marketId) external view returns (uint256) {
        return _markPrice(marketId);
    }

    // ------------------------------------------------------------- internal

    function _existingPosition(uint256 positionId) private view returns (Position storage pos) {
        pos = _positions[positionId];
        if (pos.account == address(0)) revert PositionNotFound(positionId);
    }

    function _ownedPosition(uint256 positionId) private view returns (Position storage pos) {
        pos = _existingPosition(positionId);
        if (pos.account != msg.sender) revert NotPositionOwner(positionId, msg.sender);
    }

    function _markPrice(bytes32 marketId) private view returns (uint256 price) {
        Market memory m = markets[marketId];
        if (!m.listed) revert MarketNotListed(marketId);
        (, int256 answer,, uint256 updatedAt,) = m.feed.latestRoundData();
        if (answer <= 0) revert InvalidPrice(marketId, answer);
        if (block.timestamp > updatedAt + m.maxPriceAge) revert StalePrice(marketId, updatedAt);
        price = m.feedDecimals <= 18
            ? uint256(answer) * 10 ** (18 - m.feedDecimals)
            : uint256(answer) / 10 ** (m.feedDecimals - 18);
        if (price == 0 || price > MAX_PRICE) revert InvalidPrice(marketId, answer);
    }

    function _health(Position memory pos, uint256 price, RiskParameterRegistry.Parameters memory params)
        private
        pure
        returns (Health memory h)
    {
        h.equity = int256(pos.collateral) + _pnl(pos.size, pos.entryPrice, price);
        h.notional = _notional(pos.size, price);
        h.maintenanceMargin = _maintenanceMargin(h.notional, params);
        h.liquidatable = h.equity < int256(h.maintenanceMargin);
    }

    function _checkInitialMargin(int256 equity, uint256 notional, RiskParameterRegistry.Parameters memory params)
        private
        pure
    {
        // Rounded up so that E >= required is exactly E * 1e18 >= imr * N.
        uint256 required = notional.mulDiv(params.imr, ONE, Math.Rounding.Ceil);
        if (equity <= 0 || equity < int256(required)) revert InsufficientMargin(equity, required);
        if (notional > uint256(equity).mulDiv(params.maxLeverage, ONE)) {
            revert LeverageTooHigh(notional, equity, params.maxLeverage);
        }
    }

    function _maintenanceMargin(uint256 notional, RiskParameterRegistry.Parameters memory params)
        private
        pure
        returns (uint256)
    {
        // Rounded up so that E < required is exactly E * 1e18 < mmr * N.
        return notional.mulDiv(params.mmr, ONE, Math.Rounding.Ceil);
    }

    function _increaseOpenInterest(bytes32 marketId, int256 sizeDelta, uint256 oiCap) private {
        mapping(bytes32 => uint256) storage side = sizeDelta > 0 ? longOpenInterest : shortOpenInterest;
        uint256 openInterest = side[marketId] + _abs(sizeDelta);
        if (openInterest > oiCap) revert OpenInterestCapExceeded(marketId, openInterest, oiCap);
        side[marketId] = openInterest;
    }

    function _decreaseOpenInterest(bytes32 marketId, int256 sizeDelta) private {
        mapping(bytes32 => uint256) storage side = sizeDelta > 0 ? longOpenInterest : shortOpenInterest;
        side[marketId] -= _abs(sizeDelta);
    }

    function _checkSize(int256 size) private pure {
        if (size > int256(MAX_SIZE) || size < -int256(MAX_SIZE)) revert SizeTooLarge(size);
    }

    function _notional(int256 size, uint256 price) private pure returns (uint256) {
        return _abs(size).mulDiv(price, ONE);
    }

    function _pnl(int256 size, uint256 entryPrice, uint256 price) private pure returns (int256) {
        return size * (int256(price) - int256(entryPrice)) / int256(ONE);
    }

    function _abs(int256 x) private pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
