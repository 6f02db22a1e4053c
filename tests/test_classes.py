"""GpuClasses: governance defines standardised GPU slices and their parameters."""

from __future__ import annotations

from chain_checks import reverts
from compute_world import H100, World, events
from eth_abi import encode
from eth_utils import keccak

from gpubarter.deploy_plan import DEFAULT_GPU_CLASSES
from gpubarter.protocol.types import GpuClass


def test_deployment_defines_default_classes(world: World) -> None:
    classes = world.holder.gpu_classes()
    assert [(c.class_id, c.name) for c in classes] == [
        (c.class_id, c.name) for c in DEFAULT_GPU_CLASSES
    ]
    h100 = world.holder.resolve_class("nvidia-h100-80gb")
    assert h100 == GpuClass(
        1, H100.name, H100.collateral_rate, H100.ack_timeout_s, H100.penalty_bps, True
    )
    assert world.holder.resolve_class("1") == h100


def test_set_class_defines_and_updates(world: World) -> None:
    f = world.gov.classes.functions
    result = world.gov.sender.transact(f.setClass(9, "amd-mi300x-192gb", 5, 600, 10_000, True))
    assert world.holder.gpu_class(9) == GpuClass(9, "amd-mi300x-192gb", 5, 600, 10_000, True)
    ev = events(world.gov.classes, "GpuClassSet", result)[0]
    assert (ev["classId"], ev["name"], ev["collateralRate"], ev["active"]) == (
        9,
        "amd-mi300x-192gb",
        5,
        True,
    )
    world.gov.sender.transact(f.setClass(9, "amd-mi300x-192gb", 7, 600, 0, False))
    assert world.holder.gpu_class(9).collateral_rate == 7 and not world.holder.gpu_class(9).active


def test_unknown_class_is_refused(world: World) -> None:
    reverts(lambda: world.holder.gpu_class(42), "GpuClassesUnknownClass")


def test_set_class_refuses_out_of_range_parameters(world: World) -> None:
    f, gov = world.gov.classes.functions, world.gov.sender
    observe = lambda: world.holder.gpu_class(1)  # noqa: E731
    for args in ((0, "x", 1, 1, 0), (1, "x", 0, 1, 0), (1, "x", 1, 0, 0), (1, "x", 1, 1, 10_001)):
        reverts(
            lambda args=args: gov.transact(f.setClass(*args, True)),
            "GpuClassesInvalidParameters",
            observe,
        )
    for name in ("", "n" * 65):
        reverts(
            lambda name=name: gov.transact(f.setClass(1, name, 1, 1, 0, True)),
            "GpuClassesInvalidName",
            observe,
        )


def test_overflowing_class_parameters_are_refused(world: World) -> None:
    """A rate above 2^128 - 1, sent as raw calldata (web3 would not encode it), fails the
    contract's own ABI decoding: nothing is stored."""
    selector = keccak(text="setClass(uint16,string,uint128,uint32,uint16,bool)")[:4]
    body = encode(
        ["uint256", "string", "uint256", "uint256", "uint256", "bool"], [1, "x", 2**128, 1, 0, True]
    )
    to = world.deployment.address("GpuClasses")
    reason = reverts(
        lambda: world.gov.sender.transact(to=to, data=selector + body),
        "reverted without a reason",
        lambda: world.holder.gpu_class(1),
    )
    assert reason == "reverted without a reason"
