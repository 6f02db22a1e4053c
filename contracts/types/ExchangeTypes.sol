// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ExchangeTypes
/// @notice The signed order of the CreditExchange (EIP-712), defined once.
/// @dev The Python client derives its EIP-712 types by parsing the struct below
/// (`gpubarter/protocol/exchange_types.py`); a test proves both sides hash an order identically.
/// Units: `amount` in GPU-seconds (credits of one series), `pricePerHour` in CPT wei per GPU-hour.
library ExchangeTypes {
    /// @notice The maker buys credits (pays CPT).
    uint8 internal constant BUY = 0;
    /// @notice The maker sells credits (receives CPT).
    uint8 internal constant SELL = 1;

    /// @notice A maker's offer to buy or sell up to `amount` credits of series `seriesId`.
    struct Order {
        address maker; // the signer
        uint8 side; // BUY (0) or SELL (1), from the maker's side
        uint256 seriesId; // the ComputeCredits series (ERC-1155 id)
        uint256 amount; // GPU-seconds offered in all
        uint256 pricePerHour; // CPT wei per GPU-hour
        uint64 expiry; // unix seconds: no fill after this time
        uint64 epoch; // the maker's nonce epoch: void once the maker raised its epoch above this
        uint256 salt; // makes otherwise equal orders distinct
    }

    /// @notice A maker's signature in the compact form of EIP-2098: `r` and `vs` (`v - 27` in the top bit of `s`).
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address maker,uint8 side,uint256 seriesId,uint256 amount,uint256 pricePerHour,"
        "uint64 expiry,uint64 epoch,uint256 salt)"
    );

    /// @notice The EIP-712 struct hash of `order`.
    function hash(Order calldata order) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                ORDER_TYPEHASH,
                order.maker,
                order.side,
                order.seriesId,
                order.amount,
                order.pricePerHour,
                order.expiry,
                order.epoch,
                order.salt
            )
        );
    }

    /// @notice CPT wei for `amount` GPU-seconds at `pricePerHour`, rounded in favour of the maker:
    /// up when the maker sells (receives CPT), down when the maker buys (pays CPT).
    function cost(uint256 pricePerHour, uint256 amount, uint8 side) internal pure returns (uint256) {
        uint256 product = pricePerHour * amount;
        return side == SELL ? (product + 3599) / 3600 : product / 3600;
    }
}
