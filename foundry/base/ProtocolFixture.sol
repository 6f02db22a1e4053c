// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

import {BarterEscrow} from "contracts/BarterEscrow.sol";
import {ComputeCredits} from "contracts/ComputeCredits.sol";
import {ComputeToken} from "contracts/ComputeToken.sol";
import {CooperativeFactory} from "contracts/CooperativeFactory.sol";
import {CreditExchange} from "contracts/CreditExchange.sol";
import {DatasetRegistry} from "contracts/DatasetRegistry.sol";
import {GpuClasses} from "contracts/GpuClasses.sol";
import {Jobs} from "contracts/Jobs.sol";
import {MeteringOracle} from "contracts/MeteringOracle.sol";
import {ProviderRegistry} from "contracts/ProviderRegistry.sol";
import {IBarterEscrow} from "contracts/interfaces/IBarterEscrow.sol";
import {IComputeCredits} from "contracts/interfaces/IComputeCredits.sol";
import {IComputeToken} from "contracts/interfaces/IComputeToken.sol";
import {ICooperativeFactory} from "contracts/interfaces/ICooperativeFactory.sol";
import {ICreditExchange} from "contracts/interfaces/ICreditExchange.sol";
import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";
import {IDatasetRegistry} from "contracts/interfaces/IDatasetRegistry.sol";
import {IGpuClasses} from "contracts/interfaces/IGpuClasses.sol";
import {IJobs} from "contracts/interfaces/IJobs.sol";
import {IMeteringOracle} from "contracts/interfaces/IMeteringOracle.sol";
import {IProviderRegistry} from "contracts/interfaces/IProviderRegistry.sol";

/// @title ProtocolFixture
/// @notice The whole protocol deployed and wired as `gpubarter/deploy_plan.py` does it (same constructor
/// arguments, classes and role grants, with the plan's default parameters), for the invariant suites to
/// share. Suites hold the contracts by their interfaces only; the concrete contracts appear here alone,
/// so a constructor change is fixed in one place.
abstract contract ProtocolFixture is Test {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant DAY = 86_400;

    // The plan's defaults (gpubarter/deploy_plan.py, DeployParams).
    uint256 internal constant INITIAL_SUPPLY = 1_000_000 * WAD;
    uint256 internal constant FAUCET_AMOUNT = 1_000 * WAD;
    uint64 internal constant FAUCET_COOLDOWN = 1 days;
    uint40 internal constant UNBONDING_PERIOD = 7 days;
    uint40 internal constant SETTLEMENT_GRACE = 1 hours;
    uint40 internal constant METERING_CHALLENGE_PERIOD = 0;
    uint256 internal constant ESCROW_MIN_BOND = 10 * WAD;
    uint256 internal constant ESCROW_DISPUTE_BOND = 10 * WAD;
    uint16 internal constant EXCHANGE_FEE_BPS = 20;

    // GPU classes (DEFAULT_GPU_CLASSES): collateral rate in CPT wei per GPU-second, ack timeout, penalty.
    uint16 internal constant H100 = 1;
    uint16 internal constant A100 = 2;
    uint16 internal constant L4 = 3;
    uint16 internal constant CLASS_COUNT = 3;

    address internal admin = makeAddr("admin");
    address internal treasury = makeAddr("treasury");

    IComputeToken internal token;
    IGpuClasses internal classes;
    IProviderRegistry internal registry;
    IComputeCredits internal credits;
    IJobs internal jobs;
    IMeteringOracle internal oracle;
    IDatasetRegistry internal datasets;
    IBarterEscrow internal escrow;
    ICooperativeFactory internal factory;
    ICreditExchange internal exchange;

    /// @dev Deploys and wires every contract; `admin` is the deployer and governance.
    function _deployProtocol() internal {
        // Start at a realistic time, so that windows in the past are representable.
        vm.warp(1_750_000_000);
        vm.startPrank(admin);

        token = IComputeToken(address(new ComputeToken(admin, INITIAL_SUPPLY, FAUCET_AMOUNT, FAUCET_COOLDOWN)));
        token.setFaucetChain(block.chainid, true);

        classes = IGpuClasses(address(new GpuClasses(admin)));
        _setClasses(3_600);

        registry = IProviderRegistry(address(new ProviderRegistry(admin, IERC20(address(token)), UNBONDING_PERIOD)));
        credits = IComputeCredits(
            address(new ComputeCredits(admin, registry, classes, "http://127.0.0.1:8000/credits/"))
        );
        jobs = IJobs(address(new Jobs(admin, credits, SETTLEMENT_GRACE)));
        _grant(address(registry), registry.COLLATERAL_ROLE(), address(credits));
        _grant(address(registry), registry.SLASHER_ROLE(), address(credits));
        _grant(address(credits), credits.JOBS_ROLE(), address(jobs));

        oracle = IMeteringOracle(
            address(new MeteringOracle(admin, jobs, IERC20(address(token)), METERING_CHALLENGE_PERIOD))
        );
        address[] memory signers = new address[](1);
        signers[0] = admin;
        oracle.setSigners(signers, 1);
        _grant(address(jobs), jobs.METERING_ROLE(), address(oracle));

        datasets = IDatasetRegistry(address(new DatasetRegistry(admin)));
        escrow = IBarterEscrow(
            address(
                new BarterEscrow(
                    IERC20(address(token)), credits, datasets, jobs, ESCROW_MIN_BOND, ESCROW_DISPUTE_BOND
                )
            )
        );
        _grant(address(credits), credits.SERIES_ISSUER_ROLE(), address(escrow));
        _grant(address(datasets), datasets.DEAL_ROLE(), address(escrow));
        factory = ICooperativeFactory(
            address(new CooperativeFactory(IERC20(address(token)), IERC1155(address(credits)), datasets, escrow))
        );

        exchange = ICreditExchange(
            address(new CreditExchange(admin, credits, IERC20(address(token)), treasury, EXCHANGE_FEE_BPS))
        );
        // The exchange caches each series' frozen flag; ComputeCredits pushes every freeze and unfreeze to it.
        credits.setSeriesListener(exchange);

        vm.stopPrank();
        _label();
    }

    /// @dev Mints `amount` CPT wei to `to` (governance holds `MINTER_ROLE`).
    function _fund(address to, uint256 amount) internal {
        vm.prank(admin);
        token.mint(to, amount);
    }

    /// @dev A registered provider named `name` with `stake` CPT wei staked.
    function _newProvider(string memory name, uint256 stake) internal returns (address provider) {
        provider = makeAddr(name);
        _fund(provider, stake);
        vm.startPrank(provider);
        registry.register("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
        token.approve(address(registry), stake);
        registry.stake(stake);
        vm.stopPrank();
    }

    /// @dev A cooperative made by the factory, administered by `coopAdmin`.
    function _newCooperative(address coopAdmin, string memory name) internal returns (IDataCooperative) {
        return IDataCooperative(factory.create(coopAdmin, name));
    }

    /// @dev Sets the plan's GPU classes, each with acknowledgement timeout `ackTimeout` (the plan's is 1 hour).
    /// Call it under `vm.startPrank(admin)`.
    function _setClasses(uint32 ackTimeout) internal {
        classes.setClass(H100, "nvidia-h100-80gb", 1_111_111_111_111_111, ackTimeout, 2_000, true);
        classes.setClass(A100, "nvidia-a100-80gb", 694_444_444_444_444, ackTimeout, 2_000, true);
        classes.setClass(L4, "nvidia-l4-24gb", 138_888_888_888_888, ackTimeout, 2_000, true);
    }

    /// @dev Targets the actions of `handler`: its functions whose selectors `packed` holds, written
    /// `abi.encodePacked(Handler.a.selector, Handler.b.selector, ...)` (a list with no length or indices to keep
    /// in step).
    function _target(address handler, bytes memory packed) internal {
        require(packed.length % 4 == 0, "_target: packed holds 4-byte selectors only");
        bytes4[] memory selectors = new bytes4[](packed.length / 4);
        for (uint256 i; i < selectors.length; ++i) {
            uint256 at = 4 * i;
            selectors[i] = bytes4(bytes.concat(packed[at], packed[at + 1], packed[at + 2], packed[at + 3]));
        }
        targetSelector(FuzzSelector({addr: handler, selectors: selectors}));
        targetContract(handler);
    }

    function _grant(address target, bytes32 role, address account) private {
        IAccessControl(target).grantRole(role, account);
    }

    function _label() private {
        vm.label(address(token), "ComputeToken");
        vm.label(address(classes), "GpuClasses");
        vm.label(address(registry), "ProviderRegistry");
        vm.label(address(credits), "ComputeCredits");
        vm.label(address(jobs), "Jobs");
        vm.label(address(oracle), "MeteringOracle");
        vm.label(address(datasets), "DatasetRegistry");
        vm.label(address(escrow), "BarterEscrow");
        vm.label(address(factory), "CooperativeFactory");
        vm.label(address(exchange), "CreditExchange");
    }
}
