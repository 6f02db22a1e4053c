// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title PlainERC1155
/// @notice Gas baseline for `gpubarter bench gas`: OpenZeppelin's ERC1155 with an open mint and nothing else.
/// Not part of the protocol; never deployed outside benchmarks.
contract PlainERC1155 is ERC1155 {
    constructor() ERC1155("") {}

    function mint(address to, uint256 id, uint256 value, bytes calldata data) external {
        _mint(to, id, value, data);
    }
}
