// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ERC1155ReceiverMock
/// @notice Test helper: an ERC-1155 receiver that accepts, returns a wrong value, or reverts, so tests can
/// prove the credits' acceptance checks. Not part of the protocol.
contract ERC1155ReceiverMock is IERC1155Receiver {
    enum Behaviour {
        Accept,
        WrongValue,
        Revert
    }

    error ERC1155ReceiverMockRejected();

    event Received(address operator, address from, uint256 id, uint256 value, bytes data);

    Behaviour public immutable behaviour;

    constructor(Behaviour behaviour_) {
        behaviour = behaviour_;
    }

    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external
        returns (bytes4)
    {
        if (behaviour == Behaviour.Revert) revert ERC1155ReceiverMockRejected();
        emit Received(operator, from, id, value, data);
        return behaviour == Behaviour.Accept ? this.onERC1155Received.selector : bytes4(0xdeadbeef);
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        view
        returns (bytes4)
    {
        if (behaviour == Behaviour.Revert) revert ERC1155ReceiverMockRejected();
        return behaviour == Behaviour.Accept ? this.onERC1155BatchReceived.selector : bytes4(0xdeadbeef);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }
}
