// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {IGpuClasses} from "./interfaces/IGpuClasses.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ISeriesListener} from "./interfaces/ISeriesListener.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";

/// @title ComputeCredits
/// @notice See the documentation in {IComputeCredits}.
contract ComputeCredits is ERC1155, AccessControl, Pausable, IComputeCredits {
    using Strings for uint256;

    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeCredits
    bytes32 public constant override SERIES_ISSUER_ROLE = keccak256("SERIES_ISSUER_ROLE");
    /// @inheritdoc IComputeCredits
    bytes32 public constant override JOBS_ROLE = keccak256("JOBS_ROLE");
    /// @inheritdoc IComputeCredits
    bytes32 public constant override PAUSER_ROLE = keccak256("PAUSER_ROLE");

    IProviderRegistry private immutable _registry;
    IGpuClasses private immutable _classes;

    uint256 private constant BPS = 10_000;

    /// @dev The one holder of `JOBS_ROLE`: credits in its custody are locked in jobs, never burned as
    /// expired, and keep their collateral after the window ends (a job may still default on them).
    address private _custody;
    /// @dev Told of every freeze (the exchange's cached frozen flag); zero: none.
    ISeriesListener private _listener;
    uint256 private _seriesCount;
    string private _baseUri;
    mapping(uint256 seriesId => ComputeTypes.Series) private _series;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `PAUSER_ROLE`.
    /// @param registry The provider registry that holds the collateral (grant this contract its `COLLATERAL_ROLE`).
    /// @param classes The GPU classes whose parameters new series copy.
    /// @param baseURI_ Metadata base URI: `uri(id)` is this followed by the decimal id.
    constructor(address admin, IProviderRegistry registry, IGpuClasses classes, string memory baseURI_) ERC1155("") {
        if (address(registry) == address(0) || address(classes) == address(0)) revert ComputeCreditsZeroAddress();
        _registry = registry;
        _classes = classes;
        _baseUri = baseURI_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeCredits
    function seriesOf(uint256 seriesId) external view override returns (ComputeTypes.Series memory) {
        return _existing(seriesId);
    }

    /// @inheritdoc IComputeCredits
    function jobTermsOf(uint256 seriesId) public view override returns (ComputeTypes.JobTerms memory) {
        ComputeTypes.Series storage s = _existing(seriesId);
        return ComputeTypes.JobTerms({
            provider: s.provider,
            end: s.end,
            ackTimeout: s.ackTimeout,
            penaltyBps: s.penaltyBps,
            collateralRate: s.collateralRate
        });
    }

    /// @inheritdoc IComputeCredits
    function deliveredOf(uint256 seriesId) external view override returns (uint256) {
        return _series[seriesId].delivered;
    }

    /// @inheritdoc IComputeCredits
    function outstandingOf(uint256 seriesId) external view override returns (uint256) {
        ComputeTypes.Series storage s = _series[seriesId];
        return s.minted - s.burned;
    }

    /// @inheritdoc IComputeCredits
    function collateralPerCredit(uint256 seriesId) external view override returns (uint256) {
        return _perCredit(_existing(seriesId));
    }

    /// @inheritdoc IComputeCredits
    function isFrozen(uint256 seriesId) external view override returns (bool) {
        return _series[seriesId].frozen;
    }

    /// @inheritdoc IComputeCredits
    function custody() external view override returns (address) {
        return _custody;
    }

    /// @inheritdoc IComputeCredits
    function seriesListener() external view override returns (ISeriesListener) {
        return _listener;
    }

    /// @inheritdoc IComputeCredits
    function seriesCount() external view override returns (uint256) {
        return _seriesCount;
    }

    /// @inheritdoc IComputeCredits
    function baseURI() external view override returns (string memory) {
        return _baseUri;
    }

    /// @notice The metadata URI of token `id`: the base URI followed by the decimal id. The JSON there
    /// describes the series (name, class, window, provider); `gpubarter series show` prints the same.
    function uri(uint256 id) public view override(ERC1155, IERC1155MetadataURI) returns (string memory) {
        return string.concat(_baseUri, id.toString());
    }

    /// @notice ERC-165: ERC-1155, its metadata URI extension and AccessControl.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return ERC1155.supportsInterface(interfaceId) || AccessControl.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeCredits
    function createSeries(uint16 classId, uint40 start, uint40 end)
        external
        override
        whenNotPaused
        returns (uint256 seriesId)
    {
        seriesId = _createSeries(msg.sender, classId, start, end, ComputeTypes.Backing.Stake, 0);
    }

    /// @inheritdoc IComputeCredits
    function createDataBackedSeries(
        address provider,
        uint16 classId,
        uint40 start,
        uint40 end,
        uint256 dealId,
        address to,
        uint256 amount
    ) external override whenNotPaused onlyRole(SERIES_ISSUER_ROLE) returns (uint256 seriesId) {
        // Check: the terms (in _createSeries), the amount, then the free stake (in _update via the registry).
        seriesId = _createSeries(provider, classId, start, end, ComputeTypes.Backing.Deal, dealId);
        _checkAmount(seriesId, amount);
        // Effect and interaction: mint within the provider's free stake (see _update), then the acceptance check.
        _mint(to, seriesId, amount, "");
    }

    /// @inheritdoc IComputeCredits
    function mint(uint256 seriesId, address to, uint256 amount, bytes calldata data)
        external
        override
        whenNotPaused
    {
        // Check: the caller's own live stake-backed series, and a non-zero amount.
        ComputeTypes.Series storage s = _existing(seriesId);
        if (s.provider != msg.sender) revert ComputeCreditsNotProvider(seriesId, msg.sender);
        if (s.backing != ComputeTypes.Backing.Stake) revert ComputeCreditsNotStakeBacked(seriesId);
        if (block.timestamp >= s.end) revert ComputeCreditsSeriesExpired(seriesId, s.end);
        _checkAmount(seriesId, amount);

        // Effect and interaction: supply and collateral in _update, then the acceptance check.
        _mint(to, seriesId, amount, data);
    }

    /// @inheritdoc IComputeCredits
    function burnExpired(address holder, uint256 seriesId, uint256 amount) external override {
        // Check: the holder's consent (itself or its approved operator: custody contracts never consent),
        // the series' window has ended, and a non-zero amount.
        if (holder != msg.sender && !isApprovedForAll(holder, msg.sender)) {
            revert ERC1155MissingApprovalForAll(msg.sender, holder);
        }
        ComputeTypes.Series storage s = _existing(seriesId);
        if (block.timestamp < s.end) revert ComputeCreditsSeriesNotExpired(seriesId, s.end);
        if (amount == 0) revert ComputeCreditsZeroAmount();

        // Effect: burn (reverts with ERC1155InsufficientBalance beyond the holder's balance).
        _burn(holder, seriesId, amount);

        // Interaction: return the collateral the burned credits no longer need (if any: it may be gone already).
        _releaseCollateral(seriesId, s);
    }

    /// @inheritdoc IComputeCredits
    function releaseCollateral(uint256 seriesId) external override {
        if (_releaseCollateral(seriesId, _existing(seriesId)) == 0) revert ComputeCreditsNothingToRelease(seriesId);
    }

    /// @inheritdoc IComputeCredits
    function setFrozen(uint256 seriesId, bool frozen) external override onlyRole(SERIES_ISSUER_ROLE) {
        // Effect: freeze or unfreeze.
        _existing(seriesId).frozen = frozen;
        emit SeriesFrozen(seriesId, frozen);

        // Interaction (protocol): the exchange's copy follows in the same transaction.
        ISeriesListener listener = _listener;
        if (address(listener) != address(0)) listener.cacheSeries(seriesId);
    }

    /// @inheritdoc IComputeCredits
    function setSeriesListener(ISeriesListener listener) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _listener = listener;
        emit SeriesListenerSet(address(listener));
    }

    /// @inheritdoc IComputeCredits
    function lockForJob(address holder, uint256 seriesId, uint256 amount)
        external
        override
        onlyRole(JOBS_ROLE)
        returns (ComputeTypes.JobTerms memory terms)
    {
        // Check: a live series that is not frozen.
        ComputeTypes.Series storage s = _existing(seriesId);
        if (block.timestamp >= s.end) revert ComputeCreditsSeriesExpired(seriesId, s.end);
        if (s.frozen) revert ComputeCreditsSeriesFrozen(seriesId);
        terms = jobTermsOf(seriesId);

        // Effect: take the credits into the Jobs contract's custody.
        _update(holder, msg.sender, _single(seriesId), _single(amount));
    }

    /// @inheritdoc IComputeCredits
    function returnFromJob(address holder, uint256 seriesId, uint256 amount) external override onlyRole(JOBS_ROLE) {
        _update(msg.sender, holder, _single(seriesId), _single(amount));
    }

    /// @inheritdoc IComputeCredits
    function burnDelivered(uint256 seriesId, uint256 amount)
        external
        override
        onlyRole(JOBS_ROLE)
        returns (uint256 delivered)
    {
        // Effect: burn from custody (the hook counts it as burned), then count it as delivered.
        _update(msg.sender, address(0), _single(seriesId), _single(amount));
        ComputeTypes.Series storage s = _series[seriesId];
        unchecked {
            // Overflow not possible: delivered <= burned <= minted < 2^64.
            delivered = s.delivered + amount;
        }
        s.delivered = uint64(delivered);
    }

    /// @inheritdoc IComputeCredits
    function compensate(uint256 seriesId, uint256 amount, address holder)
        external
        override
        onlyRole(JOBS_ROLE)
        returns (uint256 paid)
    {
        // Effect: burn the defaulted credits from custody (the hook counts them as burned, not delivered),
        // and take their collateral out of the series.
        _update(msg.sender, address(0), _single(seriesId), _single(amount));
        ComputeTypes.Series storage s = _series[seriesId];
        paid = amount * _perCredit(s);
        // Cannot underflow: custody credits keep their collateral (see _releaseCollateral).
        s.collateral -= uint128(paid);
        emit CreditsCompensated(seriesId, holder, amount, paid);

        // Interaction (protocol): pay it from the provider's locked stake to the holder.
        if (paid != 0) _registry.slash(s.provider, paid, holder);
    }

    /// @inheritdoc IComputeCredits
    function setBaseURI(string calldata baseURI_) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _baseUri = baseURI_;
        emit BaseURISet(baseURI_);
    }

    /// @inheritdoc IComputeCredits
    function pause() external override onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IComputeCredits
    function unpause() external override onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////////////////
                             INTERNAL CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _existing(uint256 seriesId) private view returns (ComputeTypes.Series storage s) {
        s = _series[seriesId];
        if (s.provider == address(0)) revert ComputeCreditsUnknownSeries(seriesId);
    }

    /// @dev A non-zero amount below 2^64, so no balance can overflow before `_update` checks the supply.
    function _checkAmount(uint256 seriesId, uint256 amount) private pure {
        if (amount == 0) revert ComputeCreditsZeroAmount();
        if (amount > type(uint64).max) revert ComputeCreditsAmountOverflow(seriesId, amount);
    }

    /// @dev CPT wei locked per credit: the collateral rate plus the penalty on it, so that every
    /// outstanding credit is either redeemed by a job or compensated in full from its own collateral.
    function _perCredit(ComputeTypes.Series storage s) private view returns (uint256) {
        uint256 rate = s.collateralRate;
        // Cannot overflow: rate < 2^128, penaltyBps <= 10_000.
        return rate + rate * s.penaltyBps / BPS;
    }

    function _single(uint256 element) private pure returns (uint256[] memory array) {
        array = new uint256[](1);
        array[0] = element;
    }

    /*//////////////////////////////////////////////////////////////////////////
                           INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev `JOBS_ROLE` goes to one custody contract only: {releaseCollateral} keeps collateral for what it holds.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == JOBS_ROLE) {
            address current = _custody;
            if (current != address(0) && current != account) revert ComputeCreditsCustodySet(current);
            _custody = account;
        }
        return super._grantRole(role, account);
    }

    /// @dev The one hook for token behaviour. Transfers touch nothing beyond balances; a mint counts
    /// the supply and locks `value * collateralPerCredit` of the provider's free stake; a burn counts it.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
    {
        super._update(from, to, ids, values);
        if (from != address(0) && to != address(0)) return;

        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 value = values[i];
            ComputeTypes.Series storage s = _series[id];
            if (from == address(0)) {
                // Mint: count the supply (64-bit) and lock its collateral.
                uint256 minted = uint256(s.minted) + value;
                if (minted > type(uint64).max) revert ComputeCreditsAmountOverflow(id, value);
                s.minted = uint64(minted);
                // Cannot overflow: value < 2^64 and the collateral per credit < 2^129.
                uint256 collateral = value * _perCredit(s);
                // Fits 128 bits once the registry accepted it: series collateral <= provider locked <= stake < 2^128.
                s.collateral = uint128(s.collateral + collateral);
                _registry.lock(s.provider, collateral);
            } else {
                // Burn: count it. Overflow not possible: burned <= minted < 2^64.
                unchecked {
                    s.burned += uint64(value);
                }
            }
        }
    }

    function _createSeries(
        address provider,
        uint16 classId,
        uint40 start,
        uint40 end,
        ComputeTypes.Backing backing,
        uint256 dealId
    ) private returns (uint256 seriesId) {
        // Check: a registered provider, an active class and a window that has not ended.
        if (!_registry.isRegistered(provider)) revert ComputeCreditsProviderNotRegistered(provider);
        ComputeTypes.GpuClass memory gpuClass = _classes.classOf(classId);
        if (!gpuClass.active) revert ComputeCreditsClassInactive(classId);
        if (start >= end || end <= block.timestamp) revert ComputeCreditsInvalidWindow(start, end, block.timestamp);

        // Effect: record the series with a copy of its class's parameters.
        unchecked {
            // Overflow not possible: one id per transaction.
            seriesId = ++_seriesCount;
        }
        ComputeTypes.Series storage s = _series[seriesId];
        s.provider = provider;
        s.classId = classId;
        s.start = start;
        s.end = end;
        s.ackTimeout = gpuClass.ackTimeout;
        s.penaltyBps = gpuClass.penaltyBps;
        s.backing = backing;
        s.collateralRate = gpuClass.collateralRate;
        if (dealId != 0) s.dealId = dealId;
        emit SeriesCreated(seriesId, provider, classId, start, end, backing, dealId, gpuClass.collateralRate);
    }

    function _releaseCollateral(uint256 seriesId, ComputeTypes.Series storage s) private returns (uint256 excess) {
        // Check: the series holds more than its outstanding credits need: all of them while the window is
        // open, only those locked in jobs once it has ended (expired credits elsewhere are owed nothing).
        uint256 outstanding = block.timestamp < s.end ? s.minted - s.burned : balanceOf(_custody, seriesId);
        uint256 needed = outstanding * _perCredit(s);
        uint256 held = s.collateral;
        if (held <= needed) return 0;

        // Effect: keep only what is needed.
        s.collateral = uint128(needed);
        unchecked {
            // Overflow not possible: needed < held.
            excess = held - needed;
        }
        emit CollateralReleased(seriesId, s.provider, excess, needed);

        // Interaction: unlock it in the registry.
        _registry.unlock(s.provider, excess);
    }
}
