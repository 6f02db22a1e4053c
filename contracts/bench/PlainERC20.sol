// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PlainERC20
/// @notice Gas baseline for `gpubarter bench gas`: OpenZeppelin's ERC20 with an open mint and nothing else.
/// Not part of the protocol; never deployed outside benchmarks.
contract PlainERC20 is ERC20 {
    constructor() ERC20("Plain", "PLN") {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }
}
