// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IComputeCredits} from "contracts/interfaces/IComputeCredits.sol";
import {ICreditExchange} from "contracts/interfaces/ICreditExchange.sol";
import {ExchangeTypes} from "contracts/types/ExchangeTypes.sol";

import {HandlerBase} from "../base/HandlerBase.sol";

/// @title ExchangeHandler
/// @notice The actors of the credit market: providers create series and mint credits to traders; traders
/// sign orders (EIP-712, over the exchange's {ICreditExchange-hashOrder}), fill them one by one or in
/// batches, cancel them and raise their epochs; holders burn expired credits, others try to burn them
/// without consent; the series issuer freezes and unfreezes series; time passes across series windows.
///
/// Ghosts: credits minted and burned per series, what each order has filled and whether it was cancelled,
/// every maker's epoch, the fees paid, and the fills that succeeded on a frozen or an ended series (0).
contract ExchangeHandler is HandlerBase {
    /// @notice An order as its maker signed it.
    struct SignedOrder {
        ExchangeTypes.Order order;
        ExchangeTypes.Signature signature;
        bytes32 orderHash;
    }

    /// @dev What a fill is checked against: the parties' balances before it, and what must refuse it.
    struct FillContext {
        address seller;
        address buyer;
        uint256 sellerCpt;
        uint256 buyerCpt;
        uint256 treasuryCpt;
        uint256 sellerCredits;
        uint256 buyerCredits;
        bool frozen;
        bool ended;
        bool refused; // expired, cancelled or below its maker's epoch
    }

    uint256 public constant MAX_SERIES = 6;
    uint256 public constant MAX_ORDERS = 24;

    ICreditExchange public immutable exchange;
    IComputeCredits public immutable credits;
    IERC20 public immutable token;
    address public immutable issuer;
    address public immutable treasury;

    address[] public providers;
    address[] public traders;
    mapping(address trader => uint256 key) private _keys;

    uint256[] public seriesIds;
    SignedOrder[] private _orders;

    mapping(uint256 seriesId => uint256) public ghostMinted;
    mapping(uint256 seriesId => uint256) public ghostBurned;
    mapping(bytes32 orderHash => uint256) public ghostFilled;
    mapping(bytes32 orderHash => bool) public ghostCancelled;
    mapping(address maker => uint64) public ghostEpoch;
    uint256 public ghostFees;
    uint256 public fillsOnFrozen;
    uint256 public fillsOnEnded;

    constructor(
        ICreditExchange exchange_,
        address issuer_,
        address[] memory providers_,
        address[] memory traders_,
        uint256[] memory keys
    ) {
        exchange = exchange_;
        credits = IComputeCredits(exchange_.credits());
        token = IERC20(exchange_.token());
        treasury = exchange_.treasury();
        issuer = issuer_;
        providers = providers_;
        traders = traders_;
        for (uint256 i; i < traders_.length; ++i) {
            _keys[traders_[i]] = keys[i];
        }
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   VIEWS FOR THE SUITE
    //////////////////////////////////////////////////////////////////////////*/

    function traderCount() external view returns (uint256) {
        return traders.length;
    }

    function seriesCount() external view returns (uint256) {
        return seriesIds.length;
    }

    function orderCount() external view returns (uint256) {
        return _orders.length;
    }

    /// @notice Order `i` and its ghosts, in one call (the invariant runs after every call).
    function orderAt(uint256 i)
        external
        view
        returns (bytes32 orderHash, uint256 amount, uint256 filled, bool cancelled)
    {
        orderHash = _orders[i].orderHash;
        return (orderHash, _orders[i].order.amount, ghostFilled[orderHash], ghostCancelled[orderHash]);
    }

    /// @notice Series `i` and its credits outstanding by the ghosts (minted - burned).
    function seriesAt(uint256 i) external view returns (uint256 seriesId, uint256 outstanding) {
        seriesId = seriesIds[i];
        return (seriesId, ghostMinted[seriesId] - ghostBurned[seriesId]);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                      PROVIDERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice A provider opens a series whose window may start in the past, now or later.
    function createSeries(uint256 providerSeed, uint256 classSeed, uint256 startSeed, uint256 lengthSeed) external {
        if (seriesIds.length >= MAX_SERIES) revert HandlerNothingToDo("series cap reached");
        address provider = _pick(providers, providerSeed);
        uint16 classId = uint16(bound(classSeed, 1, 3));
        uint256 start = block.timestamp - 1 days + bound(startSeed, 0, 4 days);
        uint256 end = start + bound(lengthSeed, 1 hours, 3 days);
        vm.prank(provider);
        uint256 seriesId = credits.createSeries(classId, uint40(start), uint40(end));
        seriesIds.push(seriesId);
    }

    /// @notice The provider of a series mints credits of it to a trader.
    function mint(uint256 seriesSeed, uint256 traderSeed, uint256 amountSeed) external {
        uint256 seriesId = _liveSeries(seriesSeed);
        address trader = _pick(traders, traderSeed);
        uint256 amount = bound(amountSeed, 1, 20_000);
        vm.prank(credits.seriesOf(seriesId).provider);
        credits.mint(seriesId, trader, amount, "");
        ghostMinted[seriesId] += amount;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       TRADERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice A trader signs an order (off-chain) at its current epoch.
    function placeOrder(
        uint256 makerSeed,
        uint256 seriesSeed,
        bool sell,
        uint256 amountSeed,
        uint256 priceSeed,
        uint256 expirySeed,
        uint256 salt
    ) external {
        if (_orders.length >= MAX_ORDERS) revert HandlerNothingToDo("order cap reached");
        uint256 seriesId = _liveSeries(seriesSeed);
        // A seller holds credits of the series when any trader does, and offers at most what it holds; a
        // buyer bids for up to 20,000 GPU-seconds.
        address maker = sell ? _holderOr(seriesId, makerSeed) : _pick(traders, makerSeed);
        uint256 held = sell ? credits.balanceOf(maker, seriesId) : 0;
        ExchangeTypes.Order memory order = ExchangeTypes.Order({
            maker: maker,
            side: sell ? ExchangeTypes.SELL : ExchangeTypes.BUY,
            seriesId: seriesId,
            amount: bound(amountSeed, 1, held == 0 ? 20_000 : held),
            pricePerHour: bound(priceSeed, 0, 50e18),
            expiry: uint64(block.timestamp + bound(expirySeed, 0, 3 days)),
            epoch: ghostEpoch[maker],
            salt: salt
        });
        bytes32 orderHash = exchange.hashOrder(order);
        (bytes32 r, bytes32 vs) = vm.signCompact(_keys[maker], orderHash);
        _orders.push(SignedOrder(order, ExchangeTypes.Signature(r, vs), orderHash));
    }

    /// @notice A trader fills part of an order (of another trader).
    function fill(uint256 orderSeed, uint256 takerSeed, uint256 amountSeed) external {
        SignedOrder memory o = _liveOrder(orderSeed);
        address taker = _taker(o, o.order.maker, takerSeed);
        uint256 amount = bound(amountSeed, 1, _fillable(o, taker));
        FillContext memory ctx = _context(o, taker);

        vm.prank(taker);
        exchange.fill(o.order, o.signature, amount);

        _recordFill(o, ctx, amount);
        _checkBalances(o, ctx, amount);
    }

    /// @notice A trader fills two orders at once (possibly the same one twice: then the second part
    /// must not overfill it).
    function fillMany(uint256 seedA, uint256 seedB, uint256 takerSeed, uint256 amountSeedA, uint256 amountSeedB)
        external
    {
        SignedOrder[] memory os = new SignedOrder[](2);
        os[0] = _liveOrder(seedA);
        os[1] = _liveOrder(seedB);
        address taker = _taker(os[0], os[1].order.maker, takerSeed);
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = bound(amountSeedA, 1, _fillable(os[0], taker));
        amounts[1] = bound(amountSeedB, 1, _fillable(os[1], taker));
        ExchangeTypes.Order[] memory orders = new ExchangeTypes.Order[](2);
        ExchangeTypes.Signature[] memory signatures = new ExchangeTypes.Signature[](2);
        FillContext[] memory ctxs = new FillContext[](2);
        for (uint256 i; i < 2; ++i) {
            (orders[i], signatures[i]) = (os[i].order, os[i].signature);
            ctxs[i] = _context(os[i], taker);
        }
        uint256 treasuryBefore = token.balanceOf(treasury);

        vm.prank(taker);
        exchange.fillMany(orders, signatures, amounts);

        for (uint256 i; i < 2; ++i) {
            _recordFill(os[i], ctxs[i], amounts[i]);
        }
        uint256 treasuryNow = token.balanceOf(treasury);
        _check(treasuryNow >= treasuryBefore, "fillMany: the treasury lost CPT");
        uint256 fee = treasuryNow >= treasuryBefore ? treasuryNow - treasuryBefore : 0;
        uint256 cost = exchange.costOf(os[0].order.pricePerHour, amounts[0], os[0].order.side)
            + exchange.costOf(os[1].order.pricePerHour, amounts[1], os[1].order.side);
        _check(fee <= cost, "fillMany: the fees exceed the cost");
        ghostFees += fee;
    }

    /// @notice A maker cancels one of its orders.
    function cancel(uint256 orderSeed) external {
        SignedOrder memory o = _order(orderSeed);
        vm.prank(o.order.maker);
        exchange.cancel(o.order);
        ghostCancelled[o.orderHash] = true;
        _check(exchange.filledOf(o.orderHash) == type(uint256).max, "cancel: the order does not read as cancelled");
    }

    /// @notice A trader voids its orders signed so far by raising its epoch.
    function raiseEpoch(uint256 traderSeed, uint256 bumpSeed) external {
        address trader = _pick(traders, traderSeed);
        uint64 epoch = ghostEpoch[trader] + uint64(bound(bumpSeed, 1, 3));
        vm.prank(trader);
        exchange.raiseEpoch(epoch);
        ghostEpoch[trader] = epoch;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                HOLDERS, ISSUER, TIME
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice A holder burns some of its expired credits.
    function burnExpired(uint256 holderSeed, uint256 seriesSeed, uint256 amountSeed) external {
        uint256 seriesId = _endedSeries(seriesSeed);
        address holder = _holder(seriesId, holderSeed);
        uint256 balance = credits.balanceOf(holder, seriesId);
        uint256 amount = bound(amountSeed, 1, balance);
        vm.prank(holder);
        credits.burnExpired(holder, seriesId, amount);
        ghostBurned[seriesId] += amount;
    }

    /// @notice Another trader (not an approved operator) tries to burn a holder's expired credits:
    /// a success when it is refused.
    function burnWithoutConsent(uint256 callerSeed, uint256 holderSeed, uint256 seriesSeed) external {
        uint256 seriesId = _endedSeries(seriesSeed);
        address holder = _holder(seriesId, holderSeed);
        address caller = _otherTrader(holder, holder, callerSeed);
        uint256 balance = credits.balanceOf(holder, seriesId);
        if (balance == 0 || credits.isApprovedForAll(holder, caller)) revert HandlerNothingToDo("nothing to attack");
        vm.prank(caller);
        try credits.burnExpired(holder, seriesId, balance) {
            ghostBurned[seriesId] += balance;
            _check(false, "burnExpired burned a holder's credits without its consent");
        } catch {}
    }

    /// @notice The series issuer freezes (one call in four) or unfreezes a series.
    function setFrozen(uint256 seriesSeed, uint256 modeSeed) external {
        uint256 seriesId = _series(seriesSeed);
        bool frozen = modeSeed % 4 == 0;
        vm.prank(issuer);
        credits.setFrozen(seriesId, frozen);
    }

    /// @notice Time passes: a minute to a day, so runs cross series' starts, ends and order expiries.
    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1 minutes, 1 days));
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       HELPERS
    //////////////////////////////////////////////////////////////////////////*/

    function _series(uint256 seed) private view returns (uint256) {
        return seriesIds[_index(seed, seriesIds.length, "no series yet")];
    }

    /// @dev Mostly a series that still trades (open window, not frozen), searched from `seed`; one pick in
    /// eight, or when none trades, any series, so that orders on ended and frozen series are tried too.
    function _liveSeries(uint256 seed) private view returns (uint256) {
        uint256 any = _series(seed);
        if (seed % 8 == 0) return any;
        for (uint256 i; i < seriesIds.length; ++i) {
            uint256 id = seriesIds[(seed % seriesIds.length + i) % seriesIds.length];
            if (block.timestamp < credits.seriesOf(id).end && !credits.isFrozen(id)) return id;
        }
        return any;
    }

    function _order(uint256 seed) private view returns (SignedOrder memory) {
        return _orders[_index(seed, _orders.length, "no order signed yet")];
    }

    /// @dev A series whose window has ended and whose credits someone holds, searched from `seed`; else any.
    function _endedSeries(uint256 seed) private view returns (uint256) {
        for (uint256 i; i < seriesIds.length; ++i) {
            uint256 id = seriesIds[(seed % seriesIds.length + i) % seriesIds.length];
            if (block.timestamp >= credits.seriesOf(id).end && credits.outstandingOf(id) != 0) return id;
        }
        return _series(seed);
    }

    /// @dev Mostly an order that can still be filled (by the ghosts: not expired, cancelled, voided or used up,
    /// on a series that trades), searched from `seed`; one pick in eight, or when none can, any order, so that
    /// the refusals are tried too.
    function _liveOrder(uint256 seed) private view returns (SignedOrder memory) {
        SignedOrder memory any = _order(seed);
        if (seed % 8 == 0) return any;
        for (uint256 i; i < _orders.length; ++i) {
            SignedOrder memory o = _orders[(seed % _orders.length + i) % _orders.length];
            if (_fillableByGhosts(o)) return o;
        }
        return any;
    }

    function _fillableByGhosts(SignedOrder memory o) private view returns (bool) {
        return block.timestamp <= o.order.expiry && !ghostCancelled[o.orderHash]
            && o.order.epoch >= ghostEpoch[o.order.maker] && ghostFilled[o.orderHash] < o.order.amount
            && block.timestamp < credits.seriesOf(o.order.seriesId).end && !credits.isFrozen(o.order.seriesId);
    }

    /// @dev A trader other than `a` and `b`.
    function _otherTrader(address a, address b, uint256 seed) private view returns (address trader) {
        for (uint256 i; i < traders.length; ++i) {
            trader = traders[(seed % traders.length + i) % traders.length];
            if (trader != a && trader != b) return trader;
        }
        revert HandlerNothingToDo("no other trader");
    }

    /// @dev A trader other than the order's maker and `other`, preferring one that holds credits of the series
    /// when the maker buys (the taker sells them).
    function _taker(SignedOrder memory o, address other, uint256 seed) private view returns (address taker) {
        taker = _otherTrader(o.order.maker, other, seed);
        if (o.order.side == ExchangeTypes.SELL) return taker;
        for (uint256 i; i < traders.length; ++i) {
            address t = traders[(seed % traders.length + i) % traders.length];
            if (t != o.order.maker && t != other && credits.balanceOf(t, o.order.seriesId) != 0) return t;
        }
    }

    /// @dev What a fill of `o` by `taker` may ask for: what remains of it, within the seller's credits when it
    /// holds any (a seller with none is still tried: the fill must fail).
    function _fillable(SignedOrder memory o, address taker) private view returns (uint256) {
        address seller = o.order.side == ExchangeTypes.SELL ? o.order.maker : taker;
        uint256 held = credits.balanceOf(seller, o.order.seriesId);
        uint256 remaining = _remaining(o);
        return held != 0 && held < remaining ? held : remaining;
    }

    /// @dev A trader holding credits of `seriesId`, searched from `seed`.
    function _holder(uint256 seriesId, uint256 seed) private view returns (address holder) {
        holder = _holderOr(seriesId, seed);
        if (credits.balanceOf(holder, seriesId) == 0) revert HandlerNothingToDo("no holder of the series");
    }

    /// @dev A trader holding credits of `seriesId` if any does, else any trader; searched from `seed`.
    function _holderOr(uint256 seriesId, uint256 seed) private view returns (address) {
        for (uint256 i; i < traders.length; ++i) {
            address t = traders[(seed % traders.length + i) % traders.length];
            if (credits.balanceOf(t, seriesId) != 0) return t;
        }
        return _pick(traders, seed);
    }

    /// @dev What is left of an order by the ghosts (at least 1, so that a used-up or cancelled order is
    /// still tried: the exchange must refuse it).
    function _remaining(SignedOrder memory o) private view returns (uint256) {
        uint256 filled = ghostFilled[o.orderHash];
        return ghostCancelled[o.orderHash] || filled >= o.order.amount ? 1 : o.order.amount - filled;
    }

    function _context(SignedOrder memory o, address taker) private view returns (FillContext memory ctx) {
        (ctx.seller, ctx.buyer) = o.order.side == ExchangeTypes.SELL ? (o.order.maker, taker) : (taker, o.order.maker);
        ctx.sellerCpt = token.balanceOf(ctx.seller);
        ctx.buyerCpt = token.balanceOf(ctx.buyer);
        ctx.treasuryCpt = token.balanceOf(treasury);
        ctx.sellerCredits = credits.balanceOf(ctx.seller, o.order.seriesId);
        ctx.buyerCredits = credits.balanceOf(ctx.buyer, o.order.seriesId);
        ctx.frozen = credits.isFrozen(o.order.seriesId);
        ctx.ended = block.timestamp >= credits.seriesOf(o.order.seriesId).end;
        ctx.refused = block.timestamp > o.order.expiry || ghostCancelled[o.orderHash]
            || o.order.epoch < ghostEpoch[o.order.maker];
    }

    /// @dev The ghosts of a fill that went through, and what it must not have done.
    function _recordFill(SignedOrder memory o, FillContext memory ctx, uint256 amount) private {
        if (ctx.frozen) ++fillsOnFrozen;
        if (ctx.ended) ++fillsOnEnded;
        _check(!ctx.refused, "an expired, cancelled or voided order was filled");
        ghostFilled[o.orderHash] += amount;
        _check(ghostFilled[o.orderHash] <= o.order.amount, "an order was filled beyond its amount");
    }

    /// @dev A single fill moved exactly `amount` credits seller -> buyer and `cost` CPT from the buyer,
    /// `cost - fee` of it to the seller and the fee (the cost's fee share, rounded either way) to the treasury.
    /// Compared by sums, so that a wrong move is a violation rather than an underflow.
    function _checkBalances(SignedOrder memory o, FillContext memory ctx, uint256 amount) private {
        uint256 id = o.order.seriesId;
        uint256 cost = exchange.costOf(o.order.pricePerHour, amount, o.order.side);
        uint256 treasuryNow = token.balanceOf(treasury);
        _check(treasuryNow >= ctx.treasuryCpt, "fill: the treasury lost CPT");
        uint256 fee = treasuryNow >= ctx.treasuryCpt ? treasuryNow - ctx.treasuryCpt : 0;
        uint256 exact = cost * exchange.feeBps();
        _check(fee * 10_000 + 10_000 > exact && fee * 10_000 < exact + 10_000, "fill: the fee is not its rate of the cost");
        _check(fee <= cost, "fill: the fee exceeds the cost");
        _check(token.balanceOf(ctx.buyer) + cost == ctx.buyerCpt, "fill: the buyer did not pay the cost");
        _check(token.balanceOf(ctx.seller) + fee == ctx.sellerCpt + cost, "fill: the seller did not get cost - fee");
        _check(credits.balanceOf(ctx.seller, id) + amount == ctx.sellerCredits, "fill: the seller did not give the credits");
        _check(credits.balanceOf(ctx.buyer, id) == ctx.buyerCredits + amount, "fill: the buyer did not get the credits");
        ghostFees += fee;
    }
}
