"""DataCooperative and CooperativeFactory on anvil: shares, pro-rata pull claims that never
change what others earned, datasets and offers in the cooperative's name, and refusals."""

from __future__ import annotations

from chain_checks import reverts
from escrow_world import GPU_SECONDS, SHARES, EscrowWorld, new_dataset

from gpubarter.chain.contracts import deploy_contract
from gpubarter.protocol import sealing


def coop_fn(ew: EscrowWorld):
    return ew.coop_contract.functions


def test_factory_creates_cooperatives_it_vouches_for(ew: EscrowWorld) -> None:
    assert ew.gov.factory.functions.isCooperative(ew.coop).call()
    assert not ew.gov.factory.functions.isCooperative(ew.other.sender.address).call()
    reverts(lambda: ew.admin.create_cooperative("x", admin="0x" + "00" * 20), "CooperativeFactoryZeroAddress")


def test_cooperative_owns_its_datasets(ew: EscrowWorld) -> None:
    assert ew.gov.datasets.functions.ownerOf(ew.dataset_id).call() == ew.coop


def test_only_admins_set_shares_register_offer_and_withdraw(ew: EscrowWorld) -> None:
    f = coop_fn(ew)
    member = ew.members[0].sender.address
    for call in (
        lambda: ew.other.set_shares(ew.coop, member, 9),
        lambda: ew.other.offer(ew.coop, ew.terms()),
        lambda: ew.other.sender.transact(f.withdrawToken(ew.other.sender.address, 1)),
        lambda: ew.other.register_dataset(ew.coop, "bafkreix", [b"\x01" * 32], b"\x01" * 32, b"\x00" * 32),
    ):
        reverts(call, "AccessControlUnauthorizedAccount", f.sharesOf(member).call, lambda: ew.cpt(ew.coop))


def test_set_shares_refuses_zero_address_and_overflow(ew: EscrowWorld) -> None:
    f = coop_fn(ew)
    total = f.totalShares().call
    reverts(lambda: ew.admin.set_shares(ew.coop, "0x" + "00" * 20, 1), "CooperativeZeroAddress", total)
    stranger = ew.other.sender.address
    reverts(lambda: ew.admin.set_shares(ew.coop, stranger, 2**128), "CooperativeSharesTooLarge", total)


def test_credits_are_shared_pro_rata_and_claims_sum_to_at_most_what_arrived(ew: EscrowWorld) -> None:
    _, series_id = ew.accepted()
    total = sum(SHARES)
    for member, shares in zip(ew.members, SHARES, strict=True):
        assert coop_fn(ew).claimable(1, member.sender.address).call() == shares * GPU_SECONDS // total
        member.claim_next(ew.coop)
        assert member.credit_balance(series_id) == shares * GPU_SECONDS // total
    claimed = sum(m.credit_balance(series_id) for m in ew.members)
    assert claimed + ew.gov.credit_balance(series_id, ew.coop) == GPU_SECONDS


def test_claim_refuses_twice_and_strangers(ew: EscrowWorld) -> None:
    ew.accepted()
    m = ew.members[0]
    m.claim_next(ew.coop)
    reverts(lambda: m.claim_next(ew.coop), "CooperativeNothingToClaim",
            lambda: coop_fn(ew).nextClaimOf(m.sender.address).call())
    reverts(lambda: ew.other.claim_next(ew.coop), "CooperativeNothingToClaim")
    assert coop_fn(ew).claimed(1, m.sender.address).call()


def test_joining_leaving_and_share_changes_never_change_what_others_earned(ew: EscrowWorld) -> None:
    _, first_series = ew.accepted()
    f = coop_fn(ew)
    before = [f.claimable(1, m.sender.address).call() for m in ew.members]
    ew.admin.set_shares(ew.coop, ew.other.sender.address, 100)  # joins
    ew.admin.set_shares(ew.coop, ew.members[0].sender.address, 0)  # leaves
    ew.admin.set_shares(ew.coop, ew.members[1].sender.address, 50)  # changes
    assert [f.claimable(1, m.sender.address).call() for m in ew.members] == before
    assert f.claimable(1, ew.other.sender.address).call() == 0
    # The newcomer's cursor starts after what arrived before it joined.
    assert f.nextClaimOf(ew.other.sender.address).call() == 2
    # A second deal is shared by the new shares: 0 + 50 + 3 + 100.
    second = ew.offer()
    ew.provider.accept(second, sealing.keygen().public)
    assert f.distributionOf(2).call()[2] == 153
    assert f.claimable(2, ew.other.sender.address).call() == 100 * GPU_SECONDS // 153
    assert f.claimable(2, ew.members[0].sender.address).call() == 0
    # The member who left steps over its empty part with a zero claim after claiming the first.
    m0 = ew.members[0]
    m0.claim_next(ew.coop)
    assert m0.credit_balance(first_series) == before[0]
    result = m0.claim_next(ew.coop)
    assert result.receipt.status == 1 and f.nextClaimOf(m0.sender.address).call() == 3


def test_credits_arriving_without_members_or_from_another_token_are_refused(ew: EscrowWorld) -> None:
    # A plain ERC-1155 that is not the protocol's credits cannot open distributions.
    plain, _ = deploy_contract(ew.gov.sender, "PlainERC1155")
    mint = plain.functions.mint(ew.coop, 1, 10, b"")
    reverts(lambda: ew.gov.sender.transact(mint), "CooperativeUnknownToken",
            coop_fn(ew).distributionCount().call)
    # Credits sent back by anyone (dust that every cursor would step over) are refused.
    _, series_id = ew.accepted()
    member = ew.members[2]
    member.claim_next(ew.coop)
    reverts(lambda: member.transfer(series_id, ew.coop, 1), "CooperativeUnexpectedCredits",
            lambda: member.credit_balance(series_id), coop_fn(ew).distributionCount().call)
    # A deal of a cooperative without members would leave its credits unshared: acceptance is refused.
    empty = ew.admin.create_cooperative("empty").value
    ew.gov.sender.transact(ew.gov.token.functions.transfer(empty, 100 * 10**18))
    ds, _ = new_dataset(ew.admin, empty)
    deal_id = ew.admin.offer(empty, ew.terms(dataset_id=ds)).value
    reverts(lambda: ew.provider.accept(deal_id, sealing.keygen().public), "CooperativeNoShares",
            lambda: ew.escrow.functions.dealOf(deal_id).call())


def test_withdraw_token_moves_the_cooperative_cpt(ew: EscrowWorld) -> None:
    before = ew.cpt(ew.other.sender.address)
    ew.admin.sender.transact(coop_fn(ew).withdrawToken(ew.other.sender.address, 5))
    assert ew.cpt(ew.other.sender.address) == before + 5
