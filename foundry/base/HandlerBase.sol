// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @title HandlerBase
/// @notice What every invariant handler shares.
///
/// Counting: a handler function reverts whenever it did nothing (the protocol refused the action, or there
/// was nothing to act on yet), and returns only after the action it stands for took place. So forge's
/// per-selector metrics (`calls - reverts - discards`, in `forge test --json`) count each handler's
/// successes over the whole campaign, across runs, and tests/test_invariants.py fails a suite in which
/// one handler never succeeded: such a suite tested nothing through it. A handler that plays an attacker
/// succeeds when the protocol refuses it, and records a violation when it does not.
///
/// Checks a handler can only make around the call it drives (balances before and after, what the call
/// must have refused) are recorded as violations rather than asserted: with `fail_on_revert = false` a
/// failed assertion inside a handler would only count as a revert. The suite's invariant asserts that no
/// violation was recorded and names the first.
abstract contract HandlerBase is CommonBase, StdCheats, StdUtils {
    /// @notice The handler had nothing to act on (e.g. no order signed yet); a revert, so not a success.
    error HandlerNothingToDo(string what);

    /// @notice Checks that failed around a handler call.
    uint256 public violations;
    /// @notice The first of them, for the invariant's failure message.
    string public firstViolation;

    /// @dev Records a violation `what` unless `ok`.
    function _check(bool ok, string memory what) internal {
        if (ok) return;
        if (violations == 0) firstViolation = what;
        ++violations;
    }

    /// @dev The index below `n` that `seed` picks; nothing to do (`missing` says why) when `n` is 0.
    function _index(uint256 seed, uint256 n, string memory missing) internal pure returns (uint256) {
        if (n == 0) revert HandlerNothingToDo(missing);
        return seed % n;
    }

    /// @dev The element of `list` that `seed` picks; reverts when the list is empty.
    function _pick(address[] storage list, uint256 seed) internal view returns (address) {
        return list[_index(seed, list.length, "empty list")];
    }

    /// @dev `a` in a message.
    function _str(uint256 a) internal pure returns (string memory) {
        return vm.toString(a);
    }
}
