// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {ICreditExchange} from "./interfaces/ICreditExchange.sol";
import {ISeriesListener} from "./interfaces/ISeriesListener.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";
import {ExchangeTypes} from "./types/ExchangeTypes.sol";

/// @title CreditExchange
/// @notice Signed-order exchange of GPU-hour credits against CPT. See {ICreditExchange}.
contract CreditExchange is ICreditExchange, AccessControl, EIP712 {
    using SafeERC20 for IERC20;
    using ExchangeTypes for ExchangeTypes.Order;

    /// @dev A series' immutable terms and its frozen flag (kept current by ComputeCredits), in one slot.
    struct SeriesTerms {
        uint16 classId;
        uint40 start;
        uint40 end; // 0: not cached yet
        bool frozen;
    }

    /// @inheritdoc ICreditExchange
    uint16 public constant MAX_FEE_BPS = 100;

    uint256 private constant CANCELLED = type(uint256).max;

    IComputeCredits private immutable _credits;
    IERC20 private immutable _token;

    /// @inheritdoc ICreditExchange
    address public treasury;
    /// @inheritdoc ICreditExchange
    uint16 public feeBps;

    mapping(bytes32 orderHash => uint256 filled) private _filled;
    mapping(address maker => uint64 epoch) private _epochs;
    mapping(uint256 seriesId => SeriesTerms terms) private _series;

    constructor(address admin, IComputeCredits credits_, IERC20 token_, address treasury_, uint16 feeBps_)
        EIP712("GPU Barter CreditExchange", "1")
    {
        if (admin == address(0) || address(credits_) == address(0) || address(token_) == address(0)) {
            revert CreditExchangeZeroAddress();
        }
        _credits = credits_;
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setFee(treasury_, feeBps_);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICreditExchange
    function credits() external view returns (address) {
        return address(_credits);
    }

    /// @inheritdoc ICreditExchange
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICreditExchange
    function filledOf(bytes32 orderHash) external view returns (uint256) {
        return _filled[orderHash];
    }

    /// @inheritdoc ICreditExchange
    function epochOf(address maker) external view returns (uint64) {
        return _epochs[maker];
    }

    /// @inheritdoc ICreditExchange
    function hashOrder(ExchangeTypes.Order calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(order.hash());
    }

    /// @inheritdoc ICreditExchange
    function costOf(uint256 pricePerHour, uint256 amount, uint8 side) external pure returns (uint256) {
        return ExchangeTypes.cost(pricePerHour, amount, side);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICreditExchange
    function fill(ExchangeTypes.Order calldata order, ExchangeTypes.Signature calldata signature, uint256 amount) external {
        (address treasury_, uint16 feeBps_) = (treasury, feeBps);
        _fill(order, signature, amount, treasury_, feeBps_);
    }

    /// @inheritdoc ICreditExchange
    function fillMany(
        ExchangeTypes.Order[] calldata orders,
        ExchangeTypes.Signature[] calldata signatures,
        uint256[] calldata amounts
    ) external {
        if (orders.length != signatures.length || orders.length != amounts.length) {
            revert CreditExchangeLengthMismatch(orders.length, signatures.length, amounts.length);
        }
        (address treasury_, uint16 feeBps_) = (treasury, feeBps);
        for (uint256 i = 0; i < orders.length; ++i) {
            _fill(orders[i], signatures[i], amounts[i], treasury_, feeBps_);
        }
    }

    /// @inheritdoc ICreditExchange
    function cancel(ExchangeTypes.Order calldata order) external {
        if (msg.sender != order.maker) revert CreditExchangeNotMaker(msg.sender, order.maker);
        bytes32 orderHash = hashOrder(order);
        if (_filled[orderHash] == CANCELLED) revert CreditExchangeOrderCancelled(orderHash);
        _filled[orderHash] = CANCELLED;
        emit OrderCancelled(orderHash, msg.sender);
    }

    /// @inheritdoc ICreditExchange
    function raiseEpoch(uint64 epoch) external {
        uint64 current = _epochs[msg.sender];
        if (epoch <= current) revert CreditExchangeEpochNotRaised(epoch, current);
        _epochs[msg.sender] = epoch;
        emit EpochRaised(msg.sender, epoch);
    }

    /// @inheritdoc ISeriesListener
    function cacheSeries(uint256 seriesId) external {
        _cache(seriesId);
    }

    /// @inheritdoc ICreditExchange
    function setFee(address treasury_, uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(treasury_, feeBps_);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                 INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _setFee(address treasury_, uint16 feeBps_) private {
        if (treasury_ == address(0)) revert CreditExchangeZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert CreditExchangeFeeTooHigh(feeBps_, MAX_FEE_BPS);
        (treasury, feeBps) = (treasury_, feeBps_);
        emit FeeSet(treasury_, feeBps_);
    }

    /// @dev The series' cached terms, caching them from ComputeCredits on first use (reverts for an
    /// unknown series with ComputeCredits' own error).
    function _terms(uint256 seriesId) private returns (SeriesTerms memory terms) {
        terms = _series[seriesId];
        if (terms.end == 0) terms = _cache(seriesId);
    }

    function _cache(uint256 seriesId) private returns (SeriesTerms memory terms) {
        ComputeTypes.Series memory s = _credits.seriesOf(seriesId);
        terms = SeriesTerms(s.classId, s.start, s.end, s.frozen);
        _series[seriesId] = terms;
    }

    function _emitFilled(
        bytes32 orderHash,
        ExchangeTypes.Order calldata order,
        SeriesTerms memory terms,
        uint256 amount,
        uint256 cost
    ) private {
        emit OrderFilled(
            orderHash,
            order.seriesId,
            order.maker,
            terms.classId,
            terms.start,
            order.pricePerHour,
            amount,
            cost
        );
    }

    /// @dev Every check of a fill; returns the order's digest, filled amount and series terms.
    function _check(ExchangeTypes.Order calldata order, ExchangeTypes.Signature calldata signature, uint256 amount)
        private
        returns (bytes32 orderHash, uint256 filled, SeriesTerms memory terms)
    {
        orderHash = hashOrder(order);
        address signer = ECDSA.recover(orderHash, signature.r, signature.vs);
        if (signer != order.maker) revert CreditExchangeBadSignature(orderHash, order.maker, signer);
        if (order.side > ExchangeTypes.SELL) revert CreditExchangeBadSide(order.side);
        if (block.timestamp > order.expiry) {
            revert CreditExchangeOrderExpired(orderHash, order.expiry, block.timestamp);
        }
        uint64 makerEpoch = _epochs[order.maker];
        if (order.epoch < makerEpoch) revert CreditExchangeEpochTooLow(orderHash, order.epoch, makerEpoch);
        if (amount == 0) revert CreditExchangeZeroAmount();
        filled = _filled[orderHash];
        if (filled == CANCELLED) revert CreditExchangeOrderCancelled(orderHash);
        // Cannot underflow: filled <= order.amount for every order not cancelled.
        uint256 remaining;
        unchecked {
            remaining = order.amount - filled;
        }
        if (amount > remaining) revert CreditExchangeOverfill(orderHash, remaining, amount);
        terms = _terms(order.seriesId);
        if (block.timestamp >= terms.end) {
            revert CreditExchangeSeriesEnded(order.seriesId, terms.end, block.timestamp);
        }
        // A frozen series' cooperative faulted: its credits cannot be redeemed, so they do not trade.
        if (terms.frozen) revert CreditExchangeSeriesFrozen(order.seriesId);
    }

    function _fill(
        ExchangeTypes.Order calldata order,
        ExchangeTypes.Signature calldata signature,
        uint256 amount,
        address treasury_,
        uint16 feeBps_
    ) private {
        // Checks.
        (bytes32 orderHash, uint256 filled, SeriesTerms memory terms) = _check(order, signature, amount);
        uint256 cost = ExchangeTypes.cost(order.pricePerHour, amount, order.side);
        uint256 fee;
        unchecked {
            // Cannot overflow: feeBps_ <= 100, and cost * 3600 did not overflow. Rounded up, so that no fill is
            // too small to pay its fee (fee <= cost still: feeBps_ <= 10_000).
            fee = (cost * feeBps_ + 9_999) / 10_000;
        }

        // Effects: record the fill before any token moves (a receiver hook may re-enter).
        unchecked {
            // Cannot overflow: filled + amount <= order.amount (checked above).
            _filled[orderHash] = filled + amount;
        }
        _emitFilled(orderHash, order, terms, amount, cost);

        // Interactions: credits from seller to buyer, CPT from buyer to seller and treasury.
        _settle(order, amount, cost, fee, treasury_);
    }

    function _settle(ExchangeTypes.Order calldata order, uint256 amount, uint256 cost, uint256 fee, address treasury_)
        private
    {
        (address seller, address buyer) =
            order.side == ExchangeTypes.SELL ? (order.maker, msg.sender) : (msg.sender, order.maker);
        unchecked {
            _token.safeTransferFrom(buyer, seller, cost - fee); // fee <= cost
        }
        if (fee != 0) _token.safeTransferFrom(buyer, treasury_, fee);
        _credits.safeTransferFrom(seller, buyer, order.seriesId, amount, "");
    }
}
