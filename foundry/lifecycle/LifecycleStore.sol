// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title LifecycleStore
/// @notice What the lifecycle handlers share (after Sablier's `LockupStore`): the actors, the series, jobs and
/// deals they made, and the ghost credit balances every invariant compares the chain against.
///
/// Ghost balances: every tracked account's credits of every series, moved only by the handler of an action
/// that account took itself (it was the caller: a transfer, an open, a close, a claim, a burn of its expired
/// credits) or received (a mint, a cooperative's distribution). Jobs' custody is not ghosted here: the
/// suites compare it with the jobs' own records. So a balance that moved by anyone else's action, or by a
/// contract on its own, differs from its ghost.
contract LifecycleStore {
    /// @notice Providers that may register (some are registered in setUp, some later by a handler).
    address[] public providers;
    /// @notice Accounts whose credits are ghosted: holders (members, in the barter suite) and cooperatives.
    address[] public accounts;
    /// @notice The holders: accounts that open jobs, transfer and burn.
    address[] public holders;
    /// @notice Every series made (stake-backed and data-backed).
    uint256[] public seriesIds;
    /// @notice Every job opened.
    uint256[] public jobIds;
    /// @notice Every deal offered.
    uint256[] public dealIds;

    /// @notice The longest a handler waits (warps) for its action to become possible; longer waits are left to
    /// the passage of time, so that one action does not end every window at once.
    uint256 public maxWait = 8 days;

    mapping(address account => mapping(uint256 seriesId => uint256)) public ghostBalance;
    mapping(address account => bool) public isTracked;

    /// @notice A sealed key as the cooperative released it (what a dispute must quote).
    struct Release {
        uint256 rx;
        uint256 ry;
        bytes32 c;
        bool honest; // sealed from the committed key
    }

    mapping(uint256 dealId => mapping(uint256 step => Release)) private _releases;
    /// @notice The provider's per-deal public key, as the cooperative reads it from `DealAccepted`.
    mapping(uint256 dealId => uint256[2]) private _publicKeys;

    /*//////////////////////////////////////////////////////////////////////////
                                        LISTS
    //////////////////////////////////////////////////////////////////////////*/

    function setMaxWait(uint256 maxWait_) external {
        maxWait = maxWait_;
    }

    function addProvider(address provider) external {
        providers.push(provider);
    }

    function addHolder(address holder) external {
        holders.push(holder);
        track(holder);
    }

    function track(address account) public {
        if (isTracked[account]) return;
        isTracked[account] = true;
        accounts.push(account);
    }

    function addSeries(uint256 seriesId) external {
        seriesIds.push(seriesId);
    }

    function addJob(uint256 jobId) external {
        jobIds.push(jobId);
    }

    function addDeal(uint256 dealId) external {
        dealIds.push(dealId);
    }

    function allProviders() external view returns (address[] memory) {
        return providers;
    }

    function allAccounts() external view returns (address[] memory) {
        return accounts;
    }

    function providerCount() external view returns (uint256) {
        return providers.length;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function holderCount() external view returns (uint256) {
        return holders.length;
    }

    function seriesCount() external view returns (uint256) {
        return seriesIds.length;
    }

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    function dealCount() external view returns (uint256) {
        return dealIds.length;
    }

    function setRelease(uint256 dealId, uint256 step, Release calldata release) external {
        _releases[dealId][step] = release;
    }

    function setPublicKey(uint256 dealId, uint256 px, uint256 py) external {
        _publicKeys[dealId] = [px, py];
    }

    function publicKeyOf(uint256 dealId) external view returns (uint256 px, uint256 py) {
        return (_publicKeys[dealId][0], _publicKeys[dealId][1]);
    }

    function releaseOf(uint256 dealId, uint256 step) external view returns (Release memory) {
        return _releases[dealId][step];
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   GHOST BALANCES
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The ghost balances of `accounts_` in series `seriesId`, in order.
    function ghostBalances(address[] calldata accounts_, uint256 seriesId) external view returns (uint256[] memory b) {
        b = new uint256[](accounts_.length);
        for (uint256 i; i < accounts_.length; ++i) {
            b[i] = ghostBalance[accounts_[i]][seriesId];
        }
    }

    /// @notice `account` received `amount` credits (a mint, a return from a job, a distribution claimed).
    function credit(address account, uint256 seriesId, uint256 amount) external {
        ghostBalance[account][seriesId] += amount;
    }

    /// @notice `account` gave `amount` credits (to a job, a transfer, a burn it made).
    function debit(address account, uint256 seriesId, uint256 amount) external {
        ghostBalance[account][seriesId] -= amount;
    }
}
