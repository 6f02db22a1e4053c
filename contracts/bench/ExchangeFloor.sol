// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ExchangeFloor
/// @notice Gas floor for `gpubarter bench exchange`: exactly what any fill must do and nothing else:
/// one ERC-1155 `safeTransferFrom`, one ERC-20 `transferFrom`, one `ecrecover` and one storage write.
/// Not part of the protocol; never deployed outside benchmarks.
contract ExchangeFloor {
    mapping(bytes32 key => uint256 value) public written;

    struct Leg {
        address seller;
        uint256 id;
        uint256 amount;
        uint256 cost;
        bytes32 digest;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    function settle(IERC1155 erc1155, IERC20 erc20, Leg calldata leg) public {
        address signer = ecrecover(leg.digest, leg.v, leg.r, leg.s);
        written[leg.digest] = uint256(uint160(signer)) | 1;
        erc20.transferFrom(msg.sender, leg.seller, leg.cost);
        erc1155.safeTransferFrom(leg.seller, msg.sender, leg.id, leg.amount, "");
    }

    function settleMany(IERC1155 erc1155, IERC20 erc20, Leg[] calldata legs) external {
        for (uint256 i = 0; i < legs.length; ++i) {
            settle(erc1155, erc20, legs[i]);
        }
    }
}
