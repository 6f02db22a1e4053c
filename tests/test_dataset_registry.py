"""DatasetRegistry on a real anvil chain: registration, metadata, commitments locked by
deals, ownership, pausing; every refusal names its error and leaves state unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chain_checks import reverts
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from gpubarter.chain.revert import error_name
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deployment_record import Deployment
from gpubarter.errors import TransactionReverted

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CID2 = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
ROOT = keccak(b"merkle root")
APPRAISAL = keccak(b"appraisal report")
ZERO = b"\x00" * 32
REGISTER_K4_GAS_BUDGET = 280_000  # measured 277,968 for the first dataset


def commitments_for(k: int, salt: bytes = b"") -> list[bytes]:
    return [keccak(b"key" + salt + i.to_bytes(2, "big")) for i in range(k)]


@pytest.fixture
def registry(w3: Web3, deployment: Deployment) -> Contract:
    return deployment.contract(w3, "DatasetRegistry")


@pytest.fixture
def owner(accounts: list[Sender]) -> Sender:
    return accounts[1]


@pytest.fixture
def escrow(accounts: list[Sender], registry: Contract) -> Sender:
    """Stands in for the barter escrow: an account governance granted DEAL_ROLE."""
    deal = accounts[3]
    accounts[0].transact(registry.functions.grantRole(registry.functions.DEAL_ROLE().call(),
                                                      deal.address))
    return deal


def register(registry: Contract, sender: Sender, *, k: int = 4, cid: str = CID,
             commitments: list[bytes] | None = None, root: bytes = ROOT,
             appraisal: bytes = APPRAISAL) -> TxResult:
    leaves = commitments_for(k) if commitments is None else commitments
    return sender.transact(registry.functions.register(cid, k, leaves, root, appraisal))


@pytest.fixture
def dataset_id(registry: Contract, owner: Sender) -> int:
    register(registry, owner)
    return registry.functions.datasetCount().call()


def state(registry: Contract) -> list[Any]:
    """Everything the registry stores, for every dataset: what a refusal must not change."""
    count = registry.functions.datasetCount().call()
    rows: list[Any] = [count, registry.functions.paused().call()]
    for i in range(1, count + 1):
        rows.append(registry.functions.getDataset(i).call())
        rows.append(registry.functions.commitments(i).call())
    return rows


def assert_refused(registry: Contract, sender: Sender, call: Any, error: str) -> str:
    """``call`` reverts with custom error ``error`` and the registry is unchanged."""
    return reverts(lambda: sender.transact(call), error, lambda: state(registry))


def events(registry: Contract, result: TxResult, name: str) -> list[Any]:
    return list(getattr(registry.events, name)().process_receipt(result.receipt))


# --- registration -----------------------------------------------------------------------

def test_register_stores_dataset_and_emits_event(registry, owner, w3):
    result = register(registry, owner)
    assert registry.functions.datasetCount().call() == 1
    stored_owner, k, locked, registered_at, root, appraisal, cid = (
        registry.functions.getDataset(1).call())
    assert (stored_owner, k, locked, root, appraisal, cid) == (
        owner.address, 4, False, ROOT, APPRAISAL, CID)
    assert registered_at == w3.eth.get_block(result.block_number)["timestamp"]
    assert registry.functions.commitments(1).call() == commitments_for(4)
    assert [registry.functions.commitment(1, i).call() for i in range(4)] == commitments_for(4)
    assert registry.functions.ownerOf(1).call() == owner.address
    assert registry.functions.stepCount(1).call() == 4
    assert registry.functions.isLockedForDeal(1).call() is False
    (event,) = events(registry, result, "DatasetRegistered")
    assert dict(event.args) == {"datasetId": 1, "owner": owner.address, "manifestCid": CID,
                                "stepCount": 4, "merkleRoot": ROOT, "appraisalHash": APPRAISAL}


def test_register_k4_gas_within_budget(registry, owner):
    assert register(registry, owner).gas_used <= REGISTER_K4_GAS_BUDGET


def test_register_assigns_sequential_ids_per_caller(registry, accounts):
    register(registry, accounts[1])
    register(registry, accounts[2], k=1, cid=CID2, appraisal=ZERO)
    assert registry.functions.datasetCount().call() == 2
    assert registry.functions.ownerOf(2).call() == accounts[2].address
    assert registry.functions.getDataset(2).call()[5] == ZERO  # no appraisal yet is allowed


def test_register_accepts_max_steps(registry, owner):
    k = registry.functions.MAX_STEPS().call()
    register(registry, owner, k=k)
    assert registry.functions.commitments(1).call() == commitments_for(k)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"k": 0, "commitments": []}, "DatasetRegistryInvalidStepCount"),
    ({"k": 257, "commitments": commitments_for(257)}, "DatasetRegistryInvalidStepCount"),
    ({"k": 4, "commitments": commitments_for(3)}, "DatasetRegistryCommitmentCountMismatch"),
    ({"k": 2, "commitments": commitments_for(3)}, "DatasetRegistryCommitmentCountMismatch"),
    ({"k": 3, "commitments": [*commitments_for(2), ZERO]}, "DatasetRegistryZeroCommitment"),
    ({"root": ZERO}, "DatasetRegistryZeroMerkleRoot"),
    ({"cid": ""}, "DatasetRegistryInvalidManifestCid"),
    ({"cid": "b" * 129}, "DatasetRegistryInvalidManifestCid"),
])
def test_register_refuses_malformed_input(registry, owner, kwargs, error):
    args = {"k": 4, "cid": CID, "commitments": commitments_for(4), "root": ROOT} | kwargs
    call = registry.functions.register(args["cid"], args["k"], args["commitments"], args["root"],
                                       APPRAISAL)
    assert_refused(registry, owner, call, error)


def test_register_refusal_carries_bad_values(registry, owner):
    leaves = [*commitments_for(2), ZERO, *commitments_for(1, b"x")]
    reason = assert_refused(registry, owner,
                            registry.functions.register(CID, 4, leaves, ROOT, APPRAISAL),
                            "DatasetRegistryZeroCommitment")
    assert reason == "DatasetRegistryZeroCommitment(step=2)"
    reason = assert_refused(registry, owner,
                            registry.functions.register(CID, 300, [], ROOT, APPRAISAL),
                            "DatasetRegistryInvalidStepCount")
    assert reason == "DatasetRegistryInvalidStepCount(stepCount=300, maxSteps=256)"


# --- views ------------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["getDataset", "ownerOf", "stepCount", "isLockedForDeal",
                                  "commitments"])
def test_views_refuse_unknown_dataset(registry, owner, dataset_id, view):
    with pytest.raises(TransactionReverted) as info:
        owner.call(getattr(registry.functions, view)(dataset_id + 1))
    assert info.value.reason == f"DatasetRegistryUnknownDataset(datasetId={dataset_id + 1})"


def test_commitment_refuses_step_out_of_range(registry, owner, dataset_id):
    with pytest.raises(TransactionReverted) as info:
        owner.call(registry.functions.commitment(dataset_id, 4))
    assert info.value.reason == (
        f"DatasetRegistryStepOutOfRange(datasetId={dataset_id}, step=4, stepCount=4)")


# --- metadata ---------------------------------------------------------------------------

def test_owner_updates_metadata(registry, owner, dataset_id):
    new_appraisal = keccak(b"second appraisal")
    result = owner.transact(registry.functions.updateMetadata(dataset_id, CID2, new_appraisal))
    data = registry.functions.getDataset(dataset_id).call()
    assert (data[5], data[6]) == (new_appraisal, CID2)
    assert registry.functions.commitments(dataset_id).call() == commitments_for(4)
    (event,) = events(registry, result, "DatasetMetadataUpdated")
    assert dict(event.args) == {"datasetId": dataset_id, "manifestCid": CID2,
                                "appraisalHash": new_appraisal}


def test_update_metadata_refuses_non_owner(registry, accounts, dataset_id, owner):
    reason = assert_refused(registry, accounts[2],
                            registry.functions.updateMetadata(dataset_id, CID2, ZERO),
                            "DatasetRegistryNotOwner")
    assert reason == (f"DatasetRegistryNotOwner(datasetId={dataset_id}, "
                      f"account={accounts[2].address}, owner={owner.address})")


@pytest.mark.parametrize("cid", ["", "b" * 129])
def test_update_metadata_refuses_bad_cid(registry, owner, dataset_id, cid):
    assert_refused(registry, owner, registry.functions.updateMetadata(dataset_id, cid, ZERO),
                   "DatasetRegistryInvalidManifestCid")


def test_update_metadata_refuses_unknown_dataset(registry, owner, dataset_id):
    assert_refused(registry, owner, registry.functions.updateMetadata(dataset_id + 1, CID2, ZERO),
                   "DatasetRegistryUnknownDataset")


def test_metadata_still_updatable_after_lock(registry, owner, escrow, dataset_id):
    escrow.transact(registry.functions.lockForDeal(dataset_id))
    owner.transact(registry.functions.updateMetadata(dataset_id, CID2, ZERO))
    assert registry.functions.getDataset(dataset_id).call()[6] == CID2


# --- commitments ------------------------------------------------------------------------

def test_owner_replaces_commitments_before_lock(registry, owner, dataset_id):
    new = commitments_for(6, b"resealed")
    new_root = keccak(b"new root")
    result = owner.transact(registry.functions.replaceCommitments(dataset_id, 6, new, new_root))
    assert registry.functions.commitments(dataset_id).call() == new
    assert registry.functions.stepCount(dataset_id).call() == 6
    assert registry.functions.getDataset(dataset_id).call()[4] == new_root
    (event,) = events(registry, result, "DatasetCommitmentsReplaced")
    assert dict(event.args) == {"datasetId": dataset_id, "stepCount": 6, "merkleRoot": new_root}


def test_replacing_with_fewer_steps_hides_old_tail(registry, owner):
    register(registry, owner, k=4)
    owner.transact(registry.functions.replaceCommitments(1, 2, commitments_for(2, b"n"), ROOT))
    assert registry.functions.commitments(1).call() == commitments_for(2, b"n")
    with pytest.raises(TransactionReverted) as info:
        owner.call(registry.functions.commitment(1, 2))
    assert error_name(info.value.reason) == "DatasetRegistryStepOutOfRange"


def test_replace_commitments_refused_after_lock(registry, owner, escrow, dataset_id):
    escrow.transact(registry.functions.lockForDeal(dataset_id))
    reason = assert_refused(
        registry, owner,
        registry.functions.replaceCommitments(dataset_id, 4, commitments_for(4, b"n"), ROOT),
        "DatasetRegistryCommitmentsLocked")
    assert reason == f"DatasetRegistryCommitmentsLocked(datasetId={dataset_id})"


def test_replace_commitments_refuses_non_owner(registry, accounts, dataset_id):
    assert_refused(registry, accounts[2],
                   registry.functions.replaceCommitments(dataset_id, 4, commitments_for(4, b"n"),
                                                         ROOT),
                   "DatasetRegistryNotOwner")


@pytest.mark.parametrize(("k", "leaves", "root", "error"), [
    (0, [], ROOT, "DatasetRegistryInvalidStepCount"),
    (5, commitments_for(4), ROOT, "DatasetRegistryCommitmentCountMismatch"),
    (2, [ZERO, commitments_for(1)[0]], ROOT, "DatasetRegistryZeroCommitment"),
    (4, commitments_for(4), ZERO, "DatasetRegistryZeroMerkleRoot"),
])
def test_replace_commitments_refuses_malformed_input(registry, owner, dataset_id, k, leaves, root,
                                                     error):
    assert_refused(registry, owner,
                   registry.functions.replaceCommitments(dataset_id, k, leaves, root), error)


# --- ownership --------------------------------------------------------------------------

def test_owner_transfers_dataset(registry, owner, accounts, dataset_id):
    new_owner = accounts[4]
    result = owner.transact(registry.functions.transferDatasetOwnership(dataset_id,
                                                                        new_owner.address))
    assert registry.functions.ownerOf(dataset_id).call() == new_owner.address
    (event,) = events(registry, result, "DatasetOwnershipTransferred")
    assert dict(event.args) == {"datasetId": dataset_id, "previousOwner": owner.address,
                                "newOwner": new_owner.address}
    # the new owner is now in charge, the old one is not
    new_owner.transact(registry.functions.updateMetadata(dataset_id, CID2, ZERO))
    assert_refused(registry, owner, registry.functions.updateMetadata(dataset_id, CID, ZERO),
                   "DatasetRegistryNotOwner")


def test_transfer_refuses_zero_address(registry, owner, dataset_id):
    reason = assert_refused(
        registry, owner,
        registry.functions.transferDatasetOwnership(dataset_id, "0x" + "00" * 20),
        "DatasetRegistryInvalidNewOwner")
    assert reason == "DatasetRegistryInvalidNewOwner(newOwner=0x" + "0" * 40 + ")"


def test_transfer_refuses_non_owner(registry, accounts, dataset_id):
    assert_refused(registry, accounts[2],
                   registry.functions.transferDatasetOwnership(dataset_id, accounts[2].address),
                   "DatasetRegistryNotOwner")


def test_transfer_refuses_unknown_dataset(registry, owner, dataset_id):
    assert_refused(registry, owner,
                   registry.functions.transferDatasetOwnership(dataset_id + 7, owner.address),
                   "DatasetRegistryUnknownDataset")


# --- deals lock commitments -------------------------------------------------------------

def test_deal_role_locks_dataset_once(registry, escrow, dataset_id):
    first = escrow.transact(registry.functions.lockForDeal(dataset_id))
    assert registry.functions.isLockedForDeal(dataset_id).call() is True
    (event,) = events(registry, first, "DatasetLockedForDeal")
    assert dict(event.args) == {"datasetId": dataset_id, "by": escrow.address}
    again = escrow.transact(registry.functions.lockForDeal(dataset_id))  # a second deal
    assert events(registry, again, "DatasetLockedForDeal") == []
    assert registry.functions.isLockedForDeal(dataset_id).call() is True


@pytest.mark.parametrize("who", [1, 2])  # the dataset's owner and a stranger
def test_lock_refuses_caller_without_deal_role(registry, accounts, dataset_id, who):
    reason = assert_refused(registry, accounts[who], registry.functions.lockForDeal(dataset_id),
                            "AccessControlUnauthorizedAccount")
    assert accounts[who].address in reason


def test_lock_refuses_unknown_dataset(registry, escrow, dataset_id):
    assert_refused(registry, escrow, registry.functions.lockForDeal(dataset_id + 1),
                   "DatasetRegistryUnknownDataset")


# --- pausing ----------------------------------------------------------------------------

def writes(registry: Contract, dataset_id: int, accounts: list[Sender]
           ) -> dict[str, tuple[Sender, Callable[[], Any]]]:
    return {
        "register": (accounts[1], lambda: registry.functions.register(
            CID, 4, commitments_for(4), ROOT, APPRAISAL)),
        "updateMetadata": (accounts[1], lambda: registry.functions.updateMetadata(
            dataset_id, CID2, ZERO)),
        "replaceCommitments": (accounts[1], lambda: registry.functions.replaceCommitments(
            dataset_id, 4, commitments_for(4, b"n"), ROOT)),
        "transferDatasetOwnership": (accounts[1], lambda: registry.functions
                                     .transferDatasetOwnership(dataset_id, accounts[2].address)),
        "lockForDeal": (accounts[3], lambda: registry.functions.lockForDeal(dataset_id)),
    }


@pytest.mark.parametrize("write", ["register", "updateMetadata", "replaceCommitments",
                                   "transferDatasetOwnership", "lockForDeal"])
def test_pause_stops_every_write_and_unpause_resumes(registry, accounts, escrow, dataset_id,
                                                     write):
    sender, call = writes(registry, dataset_id, accounts)[write]
    accounts[0].transact(registry.functions.pause())
    assert_refused(registry, sender, call(), "EnforcedPause")
    assert registry.functions.getDataset(dataset_id).call()[0] == accounts[1].address  # views work
    accounts[0].transact(registry.functions.unpause())
    sender.transact(call())


def test_pause_refuses_non_pauser(registry, accounts, dataset_id):
    assert_refused(registry, accounts[1], registry.functions.pause(),
                   "AccessControlUnauthorizedAccount")
    accounts[0].transact(registry.functions.pause())
    assert_refused(registry, accounts[1], registry.functions.unpause(),
                   "AccessControlUnauthorizedAccount")
    assert_refused(registry, accounts[0], registry.functions.pause(), "EnforcedPause")


def test_deployer_holds_governance_roles(registry, accounts, deployment):
    for role in ("DEFAULT_ADMIN_ROLE", "PAUSER_ROLE"):
        role_id = getattr(registry.functions, role)().call()
        assert registry.functions.hasRole(role_id, accounts[0].address).call()
    deal = registry.functions.DEAL_ROLE().call()
    assert deal == keccak(text="DEAL_ROLE")
    assert not registry.functions.hasRole(deal, accounts[0].address).call()
