// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolFixture} from "../base/ProtocolFixture.sol";
import {ExchangeHandler} from "./ExchangeHandler.sol";

/// @title CreditExchangeInvariants
/// @notice CreditExchange, ComputeCredits and ComputeToken under random sequences of series creation,
/// mints, signed orders, fills (single and batched), cancels, epoch raises, freezes, expiry burns and
/// time warps (see {ExchangeHandler}).
///
/// One invariant function: forge runs a whole campaign per invariant function, so the properties share one.
contract CreditExchangeInvariants is ProtocolFixture {
    uint256 internal constant TRADERS = 4;
    uint256 internal constant TRADER_CPT = 100_000 * WAD;

    ExchangeHandler internal handler;
    address[] internal traders;
    /// @dev CPT held by the traders and the treasury at the start: the exchange only moves it among them.
    uint256 internal cptInPlay;
    uint256 internal supply;

    function setUp() public {
        _deployProtocol();
        address issuer = makeAddr("seriesIssuer");
        vm.startPrank(admin);
        credits.grantRole(credits.SERIES_ISSUER_ROLE(), issuer);
        vm.stopPrank();

        address[] memory providers = new address[](2);
        providers[0] = _newProvider("providerA", 1_000_000 * WAD);
        providers[1] = _newProvider("providerB", 1_000_000 * WAD);

        traders = new address[](TRADERS);
        uint256[] memory keys = new uint256[](TRADERS);
        for (uint256 i; i < TRADERS; ++i) {
            (traders[i], keys[i]) = makeAddrAndKey(string.concat("trader", vm.toString(i)));
            _fund(traders[i], TRADER_CPT);
            vm.startPrank(traders[i]);
            token.approve(address(exchange), type(uint256).max);
            credits.setApprovalForAll(address(exchange), true);
            vm.stopPrank();
        }
        cptInPlay = TRADERS * TRADER_CPT + token.balanceOf(treasury);
        supply = token.totalSupply();

        handler = new ExchangeHandler(exchange, issuer, providers, traders, keys);
        _target(
            address(handler),
            abi.encodePacked(
                ExchangeHandler.createSeries.selector,
                ExchangeHandler.mint.selector,
                ExchangeHandler.placeOrder.selector,
                ExchangeHandler.fill.selector,
                ExchangeHandler.fillMany.selector,
                ExchangeHandler.cancel.selector,
                ExchangeHandler.raiseEpoch.selector,
                ExchangeHandler.burnExpired.selector,
                ExchangeHandler.burnWithoutConsent.selector,
                ExchangeHandler.setFrozen.selector,
                ExchangeHandler.warp.selector
            )
        );
    }

    /// @notice CPT and credits are conserved, fills respect orders, and nothing trades that must not.
    function invariant_exchange() public view {
        // CPT: only moved among traders and the treasury, the treasury holds exactly the fees, none minted.
        uint256 held = token.balanceOf(treasury);
        for (uint256 i; i < TRADERS; ++i) {
            held += token.balanceOf(traders[i]);
        }
        assertEq(held, cptInPlay, "CPT of traders and treasury changed: the exchange created or lost CPT");
        assertEq(token.balanceOf(treasury), handler.ghostFees(), "the treasury holds other than the fees paid");
        assertEq(token.totalSupply(), supply, "CPT was minted or burned");
        assertEq(token.balanceOf(address(exchange)), 0, "the exchange holds CPT");

        // Credits: every series' balances sum to minted - burned, as the contract counts it.
        for (uint256 s; s < handler.seriesCount(); ++s) {
            (uint256 id, uint256 outstanding) = handler.seriesAt(s);
            uint256 sum;
            for (uint256 i; i < TRADERS; ++i) {
                sum += credits.balanceOf(traders[i], id);
            }
            assertEq(sum, outstanding, "credits held differ from minted - burned");
            assertEq(credits.outstandingOf(id), outstanding, "outstandingOf differs from minted - burned");
            assertEq(credits.balanceOf(address(exchange), id), 0, "the exchange holds credits");
        }

        // Orders: filled as the ghosts say, never beyond their amount; cancelled ones read as such.
        for (uint256 i; i < handler.orderCount(); ++i) {
            (bytes32 orderHash, uint256 amount, uint256 ghostFilled, bool cancelled) = handler.orderAt(i);
            uint256 filled = exchange.filledOf(orderHash);
            if (cancelled) {
                assertEq(filled, type(uint256).max, "a cancelled order does not read as cancelled");
            } else {
                assertEq(filled, ghostFilled, "filledOf differs from the fills made");
                assertLe(filled, amount, "an order was filled beyond its amount");
            }
        }

        // Nothing traded that must not have.
        assertEq(handler.fillsOnFrozen(), 0, "a fill of a frozen series succeeded");
        assertEq(handler.fillsOnEnded(), 0, "a fill of an ended series succeeded");
        assertEq(handler.violations(), 0, handler.firstViolation());
    }
}
