// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ExchangeTypes} from "../types/ExchangeTypes.sol";
import {ISeriesListener} from "./ISeriesListener.sol";

/// @title ICreditExchange
/// @notice Settles signed orders for GPU-hour credits (ComputeCredits series) against CPT.
///
/// Makers sign {ExchangeTypes-Order}s off-chain (EIP-712, bound to this chain id and this
/// contract); takers fill them on-chain, partially or fully, one or many per transaction.
/// The exchange never holds tokens: it moves credits and CPT between maker and taker as an
/// approved operator/spender, so both must have approved it (ERC-1155 `setApprovalForAll`,
/// ERC-20 `approve` or permit).
///
/// Price: `cost = pricePerHour * amount / 3600` CPT wei, rounded in favour of the maker (up when
/// the maker sells, down when it buys; each fill rounds on its own). The CPT payer pays `cost`;
/// the protocol fee `cost * feeBps / 10_000` (rounded down) goes from it to the treasury and the
/// credit seller receives `cost - fee`.
///
/// A series' terms (class, window) never change after creation; the exchange caches them with the
/// series' frozen flag on the first fill of a series (or through {cacheSeries}) so later fills read
/// one slot. ComputeCredits calls {cacheSeries} whenever it freezes or unfreezes a series, so a fill
/// of a frozen series is refused in the same block ({CreditExchangeSeriesFrozen}).
interface ICreditExchange is IAccessControl, ISeriesListener {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted for every fill, with what the price index needs: the series, its GPU class and
    /// delivery window start, the price and the amount filled, and the CPT the buyer paid (`cost`;
    /// the treasury's fee is `cost * feeBps / 10_000` under the fee set by the latest {FeeSet}).
    /// The taker and the side are those of the credits' {IERC1155-TransferSingle} in the same call
    /// (the maker sold when it is that transfer's `from`).
    event OrderFilled(
        bytes32 indexed orderHash,
        uint256 indexed seriesId,
        address maker,
        uint16 classId,
        uint40 windowStart,
        uint256 pricePerHour,
        uint256 amount,
        uint256 cost
    );

    /// @notice Emitted when `maker` cancelled order `orderHash`.
    event OrderCancelled(bytes32 indexed orderHash, address indexed maker);

    /// @notice Emitted when `maker` voided every order with an epoch below `epoch`.
    event EpochRaised(address indexed maker, uint64 epoch);

    /// @notice Emitted when governance set the fee and its treasury.
    event FeeSet(address treasury, uint16 feeBps);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The signature does not recover to the order's maker (`signer` is what it recovers to).
    error CreditExchangeBadSignature(bytes32 orderHash, address maker, address signer);

    /// @notice Order `orderHash` expired at `expiry` (now `nowTime`).
    error CreditExchangeOrderExpired(bytes32 orderHash, uint64 expiry, uint256 nowTime);

    /// @notice Order `orderHash` was cancelled.
    error CreditExchangeOrderCancelled(bytes32 orderHash);

    /// @notice Order `orderHash` has epoch `epoch`, below its maker's current epoch `makerEpoch`.
    error CreditExchangeEpochTooLow(bytes32 orderHash, uint64 epoch, uint64 makerEpoch);

    /// @notice Filling `amount` of order `orderHash` exceeds what remains of it (`remaining`).
    error CreditExchangeOverfill(bytes32 orderHash, uint256 remaining, uint256 amount);

    /// @notice An amount of zero.
    error CreditExchangeZeroAmount();

    /// @notice The order's side `side` is neither BUY (0) nor SELL (1).
    error CreditExchangeBadSide(uint8 side);

    /// @notice Series `seriesId`'s delivery window ended at `end` (now `nowTime`): its credits no longer trade.
    error CreditExchangeSeriesEnded(uint256 seriesId, uint40 end, uint256 nowTime);

    /// @notice Series `seriesId` is frozen (its cooperative faulted): its credits do not trade.
    error CreditExchangeSeriesFrozen(uint256 seriesId);

    /// @notice `caller` is not the maker `maker` of the order.
    error CreditExchangeNotMaker(address caller, address maker);

    /// @notice The new epoch `epoch` does not exceed the current one `current`.
    error CreditExchangeEpochNotRaised(uint64 epoch, uint64 current);

    /// @notice The fee `feeBps` exceeds the cap `maxFeeBps`.
    error CreditExchangeFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice A zero address where a contract or treasury is needed.
    error CreditExchangeZeroAddress();

    /// @notice The batch's arrays have different lengths.
    error CreditExchangeLengthMismatch(uint256 orders, uint256 signatures, uint256 amounts);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The highest fee governance may set, in basis points.
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice The credits contract (ComputeCredits).
    function credits() external view returns (address);

    /// @notice The CPT token.
    function token() external view returns (address);

    /// @notice Where fees go.
    function treasury() external view returns (address);

    /// @notice The protocol fee in basis points of each fill's cost.
    function feeBps() external view returns (uint16);

    /// @notice GPU-seconds of order `orderHash` filled so far; `type(uint256).max` once cancelled.
    function filledOf(bytes32 orderHash) external view returns (uint256);

    /// @notice `maker`'s nonce epoch: its orders with a lower epoch are void.
    function epochOf(address maker) external view returns (uint64);

    /// @notice The EIP-712 digest of `order` under this contract's domain (what the maker signs).
    function hashOrder(ExchangeTypes.Order calldata order) external view returns (bytes32);

    /// @notice The price of `amount` GPU-seconds at `pricePerHour` for an order of `side`, rounded
    /// in favour of the maker.
    function costOf(uint256 pricePerHour, uint256 amount, uint8 side) external pure returns (uint256);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Fills `amount` GPU-seconds of `order` with the caller as taker.
    /// @dev Emits {OrderFilled}, and the tokens' transfer events.
    ///
    /// Requirements:
    /// - `signature` (EIP-2098 compact) by `order.maker` over {hashOrder}; `order.side` BUY or SELL.
    /// - The order must not have expired, been cancelled or voided by its maker's epoch.
    /// - `0 < amount <= order.amount - filledOf(hash)`.
    /// - The series must exist and its delivery window must not have ended.
    /// - The credit seller holds `amount` and approved this contract; the CPT payer holds the cost
    ///   and allowed this contract to spend it.
    function fill(ExchangeTypes.Order calldata order, ExchangeTypes.Signature calldata signature, uint256 amount) external;

    /// @notice Fills several orders in one transaction, all or nothing: `amounts[i]` of `orders[i]`.
    /// @dev Requirements: as {fill} for each order; the three arrays have the same length.
    function fillMany(
        ExchangeTypes.Order[] calldata orders,
        ExchangeTypes.Signature[] calldata signatures,
        uint256[] calldata amounts
    ) external;

    /// @notice Cancels `order`; the caller must be its maker.
    /// @dev Emits {OrderCancelled}. Requirements: the caller is `order.maker`; not cancelled already.
    function cancel(ExchangeTypes.Order calldata order) external;

    /// @notice Voids every order of the caller with an epoch below `epoch`.
    /// @dev Emits {EpochRaised}. Requirements: `epoch` exceeds the caller's current epoch.
    function raiseEpoch(uint64 epoch) external;

    /// @notice Sets the fee and its treasury.
    /// @dev Emits {FeeSet}. Requirements: `DEFAULT_ADMIN_ROLE`; `feeBps <= MAX_FEE_BPS`; a non-zero treasury.
    function setFee(address treasury_, uint16 feeBps_) external;
}
