// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SealedKeys
/// @notice The barter escrow's key sealing (see {IBarterEscrow}), computed in Solidity with the alt_bn128
/// precompiles, so that the suites make real sealed keys for any deal and step:
/// - the provider's per-deal key pair is `d` and `P = d·G`;
/// - the cooperative seals `key_i` for step `i` with a scalar `r`: `R = r·G`, `S = r·P`,
///   `c = key_i XOR keccak256(abi.encodePacked(S.x, S.y, uint256(i)))`;
/// - the registry commits to `keccak256(abi.encodePacked(key_i))`.
library SealedKeys {
    /// @notice The order of alt_bn128's group: scalars are taken below it.
    uint256 internal constant ORDER =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    /// @notice A scalar in [1, ORDER) from any seed.
    function scalar(uint256 seed) internal pure returns (uint256) {
        return seed % (ORDER - 1) + 1;
    }

    /// @notice `s·(x, y)` through the ecMul precompile (0x07); reverts on an invalid point.
    function mul(uint256 x, uint256 y, uint256 s) internal view returns (uint256 rx, uint256 ry) {
        (bool ok, bytes memory out) = address(0x07).staticcall(abi.encode(x, y, s));
        require(ok && out.length == 64, "SealedKeys: ecMul failed");
        (rx, ry) = abi.decode(out, (uint256, uint256));
    }

    /// @notice The public key `d·G` of secret `d`.
    function publicKey(uint256 secret) internal view returns (uint256 px, uint256 py) {
        return mul(1, 2, secret);
    }

    /// @notice The data key of step `step` (1-based) of the dataset made from `datasetSeed`.
    function key(uint256 datasetSeed, uint256 step) internal pure returns (bytes32) {
        return keccak256(abi.encode("lifecycle dataset key", datasetSeed, step));
    }

    /// @notice The registry's commitment to `key_`.
    function commitment(bytes32 key_) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(key_));
    }

    /// @notice `key_` for step `step` sealed to public key `(px, py)` with scalar `r`.
    function seal(bytes32 key_, uint256 px, uint256 py, uint256 step, uint256 r)
        internal
        view
        returns (uint256 rx, uint256 ry, bytes32 c)
    {
        (rx, ry) = mul(1, 2, r);
        (uint256 sx, uint256 sy) = mul(px, py, r);
        c = key_ ^ keccak256(abi.encodePacked(sx, sy, step));
    }

    /// @notice What the provider opens from a sealed key with its secret (`S = d·R`).
    function open(uint256 secret, uint256 rx, uint256 ry, bytes32 c, uint256 step) internal view returns (bytes32) {
        (uint256 sx, uint256 sy) = mul(rx, ry, secret);
        return c ^ keccak256(abi.encodePacked(sx, sy, step));
    }
}
