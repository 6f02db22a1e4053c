// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title EventEmitter
/// @notice Benchmark fixture: emits many protocol-shaped events cheaply, so the
/// indexer's catch-up rate can be measured on a chain with a large backlog.
contract EventEmitter {
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice Emits `count` Transfer events from the caller to consecutive addresses.
    function emitMany(uint256 count) external {
        for (uint256 i = 0; i < count; ++i) {
            emit Transfer(msg.sender, address(uint160(i + 1)), i);
        }
    }
}
