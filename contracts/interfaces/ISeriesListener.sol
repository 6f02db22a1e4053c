// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISeriesListener
/// @notice A contract that keeps a copy of credit series' terms (the CreditExchange caches each series' window
/// and frozen flag in one slot, so that a fill reads no other contract). ComputeCredits calls it whenever a
/// series is frozen or unfrozen, so that the copy is never stale.
interface ISeriesListener {
    /// @notice (Re)reads series `seriesId`'s terms and frozen flag from ComputeCredits. Anyone may call it.
    /// @dev Requirements: the series must exist.
    function cacheSeries(uint256 seriesId) external;
}
