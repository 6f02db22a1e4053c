"""The barter log lookups (a deal's public key, a step's released key) with a tiny ``max_log_range``:
the right event is found across many blocks, no ``eth_getLogs`` request spans more than the range,
and no search reaches below the escrow's deployment block (or the block the provider accepted in)."""

from __future__ import annotations

import pytest
from escrow_world import GPU_SECONDS, EscrowWorld, K
from log_requests import getlogs_recorded

from gpubarter.errors import ChainError
from gpubarter.protocol.barter import BarterClient

TINY = 2
STEP = GPU_SECONDS // K


def mine(ew: EscrowWorld, blocks: int) -> None:
    ew.w3.provider.make_request("anvil_mine", [blocks])


def narrow(ew: EscrowWorld) -> BarterClient:
    return BarterClient(ew.provider.sender, ew.deployment, log_range=TINY)


def test_released_keys_are_found_newest_first_in_bounded_requests(ew: EscrowWorld) -> None:
    other_deal, other_series = ew.accepted()  # a second deal releasing keys in between
    deal_id, series_id = ew.accepted()
    accepted_at = ew.w3.eth.block_number
    released = {}
    for step in range(1, K + 1):
        mine(ew, 5)
        ew.deliver(series_id, STEP)
        released[step] = ew.release(deal_id, step)
        if step == 1:
            ew.deliver(other_series, STEP)
            ew.release(other_deal, 1)
    mine(ew, 5)
    client, info = narrow(ew), ew.provider.deal_info(deal_id)
    escrow_block = ew.deployment.block_of("BarterEscrow")
    for step in range(1, K + 1):
        with getlogs_recorded(ew.w3) as seen:
            assert client.released_key(info, step) == released[step]
        assert all(1 <= end - start + 1 <= TINY for start, end in seen.ranges)
        assert min(start for start, _ in seen.ranges) > accepted_at  # stopped at the match, newest first
    assert escrow_block > 0
    # the old default (the whole chain from block 0) gives the same answer
    assert ew.provider.released_key(info, 2) == released[2]


def test_an_unreleased_step_searches_down_to_the_start_and_fails_clearly(ew: EscrowWorld) -> None:
    deal_id, _series = ew.accepted()
    accepted_at = ew.w3.eth.block_number
    mine(ew, 7)
    client, info = narrow(ew), ew.provider.deal_info(deal_id)
    with getlogs_recorded(ew.w3) as seen, pytest.raises(ChainError, match=f"step 1 of deal {deal_id} was not "
                                                                           "released"):
        client.released_key(info, 1, accepted_at)
    seen.assert_bounded(TINY, first=accepted_at)  # the provider's accepted block, not the escrow's
    with getlogs_recorded(ew.w3) as seen, pytest.raises(ChainError, match="was not released"):
        client.released_key(info, 1)
    seen.assert_bounded(TINY, first=ew.deployment.block_of("BarterEscrow"))  # default: never block 0


def test_the_public_key_of_a_deal_is_found_in_bounded_requests(ew: EscrowWorld) -> None:
    deal_id, _series = ew.accepted()
    mine(ew, 6)
    later, _ = ew.accepted()  # a newer DealAccepted of another deal
    mine(ew, 6)
    client = narrow(ew)
    with getlogs_recorded(ew.w3) as seen:
        assert client.public_key_of(client.deal_info(deal_id)) == ew.pairs[deal_id].public
    assert all(1 <= end - start + 1 <= TINY for start, end in seen.ranges)
    assert client.public_key_of(client.deal_info(later)) == ew.pairs[later].public

    offered = ew.offer()  # not accepted: no DealAccepted log anywhere
    with getlogs_recorded(ew.w3) as seen, pytest.raises(ChainError, match=f"public key of deal {offered}"):
        client.public_key_of(client.deal_info(offered))
    seen.assert_bounded(TINY, first=ew.deployment.block_of("BarterEscrow"))
