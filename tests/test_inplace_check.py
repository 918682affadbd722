"""Backward refuses values a node saved and an in-place change overwrote afterwards (PyTorch's "modified by an
inplace operation" error), and accepts every change a node does not read. Each scenario is written once for
both frameworks (``lib`` is ember or torch): the ember tests pin the outcome, the parity test checks that
PyTorch 2.13 decides every scenario the same way."""
from __future__ import annotations

import numpy as np
import pytest

import ember

MESSAGE = "modified by an inplace operation"


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))


def saved_input_scaled(lib):
    x = lib.randn(2, 4)
    y = lib.nn.Linear(4, 3)(x).sum()
    x.mul_(2)  # Linear keeps x for its weight gradient
    y.backward()


def input_of_an_add_changed(lib):
    a, b = lib.randn(3, requires_grad=True), lib.randn(3)
    y = (a + b).sum()
    b.add_(1)  # an add keeps nothing
    y.backward()


def optimizer_step_before_second_backward(lib):
    model = _mlp(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x = lib.randn(2, 4)
    first, second = model(x).sum(), model(x).pow(2).sum()
    first.backward()
    opt.step()  # the second graph kept the second layer's weight (its input requires grad)
    second.backward()


def single_layer_weight_changed(lib):
    lin = lib.nn.Linear(4, 3)
    y = lin(lib.randn(2, 4)).sum()
    with lib.no_grad():
        lin.weight.mul_(2)  # the input needs no gradient, so W is not kept
    y.backward()


def training_loop(lib):
    model = _mlp(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = lib.randn(5, 4)
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()


def change_through_data(lib):
    model = _mlp(lib)
    y = model(lib.randn(2, 4)).sum()
    model[2].weight.data.mul_(2)  # .data is outside version tracking, in PyTorch as in ember
    y.backward()


def second_layer_weight_changed_under_no_grad(lib):
    model = _mlp(lib)
    y = model(lib.randn(2, 4)).sum()
    with lib.no_grad():
        model[2].weight.add_(1)
    y.backward()


def relu_input_changed(lib):
    a = lib.randn(5, requires_grad=True)
    h = a * 1
    y = h.relu().sum()
    with lib.no_grad():
        a.add_(1)  # a * 1 keeps nothing of a; relu keeps its own output
    y.backward()


def exp_output_changed(lib):
    a = lib.randn(5, requires_grad=True)
    e = a.exp()
    y = e.sum()
    with lib.no_grad():
        e.mul_(2)  # exp keeps its output
    y.backward()


def view_of_detached_changed(lib):
    a, b = lib.randn(5, requires_grad=True), lib.randn(5)
    y = (a * b).sum()
    b.detach()[0:2].zero_()  # same memory as b
    y.backward()


def assignment_into_input(lib):
    a, b = lib.randn(5, requires_grad=True), lib.randn(5)
    y = (a * b).sum()
    b[0] = 3.0
    y.backward()


def augmented_assignment_on_input(lib):
    a, b = lib.randn(5, requires_grad=True), lib.randn(5)
    y = (a * b).sum()
    b += 1
    y.backward()


def gathered_rows_source_changed(lib):
    a = lib.randn(4, 3, requires_grad=True)
    y = a[lib.tensor([0, 2])].sum()
    with lib.no_grad():
        a.mul_(3)  # indexing keeps the index, not the values
    y.backward()


def conv_input_changed(lib):
    conv = lib.nn.Conv2d(1, 2, 3)
    x = lib.randn(1, 1, 5, 5)
    y = conv(x).sum()
    x.add_(1)
    y.backward()


def matmul_vector_changed(lib):
    w = lib.randn(3, 4, requires_grad=True)
    v = lib.randn(4)
    y = (w @ v).sum()
    v.mul_(2)
    y.backward()


def changed_after_backward(lib):
    x = lib.randn(2, 4)
    lin = lib.nn.Linear(4, 3)
    lin(x).sum().backward()
    x.mul_(2)  # nothing is pending
    lin(x).sum().backward()


def custom_function_saved_tensor_changed(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    a = lib.randn(3, requires_grad=True)
    h = a + 0
    y = Square.apply(h).sum()
    with lib.no_grad():
        h.mul_(2)
    y.backward()


RAISES = [saved_input_scaled, optimizer_step_before_second_backward, second_layer_weight_changed_under_no_grad,
          exp_output_changed, view_of_detached_changed, assignment_into_input, augmented_assignment_on_input,
          conv_input_changed, matmul_vector_changed, custom_function_saved_tensor_changed]
ACCEPTED = [input_of_an_add_changed, single_layer_weight_changed, training_loop, change_through_data,
            relu_input_changed, gathered_rows_source_changed, changed_after_backward]


@pytest.mark.parametrize("scenario", RAISES, ids=lambda f: f.__name__)
def test_backward_refuses_a_saved_value_changed_in_place(scenario):
    with pytest.raises(RuntimeError, match=MESSAGE):
        scenario(ember)


@pytest.mark.parametrize("scenario", ACCEPTED, ids=lambda f: f.__name__)
def test_changes_backward_does_not_read_are_accepted(scenario):
    scenario(ember)


def test_message_names_the_node_the_array_and_the_change():
    model = _mlp(ember)
    opt = ember.optim.Adam(model.parameters())
    x = ember.randn(2, 4)
    first, second = model(x).sum(), model(x).sum()
    first.backward()
    opt.step()
    with pytest.raises(RuntimeError) as info:
        second.backward()
    text = str(info.value)
    assert "LinearBackward" in text and "(3, 8)" in text and "Adam.step()" in text


def test_gradients_are_those_of_the_recorded_values_when_nothing_changed():
    a, b = ember.randn(5, requires_grad=True), ember.randn(5)
    y = (a * b).sum()
    other = ember.randn(5)
    other.mul_(2)  # an unrelated change is logged but does not concern this graph
    y.backward()
    np.testing.assert_allclose(a.grad.array, b.array)


@pytest.mark.parametrize("scenario", RAISES + ACCEPTED, ids=lambda f: f.__name__)
def test_pytorch_decides_the_same(scenario, torch):
    torch.manual_seed(0)
    try:
        scenario(torch)
        torch_raised = False
    except RuntimeError as e:
        assert MESSAGE in str(e)
        torch_raised = True
    assert torch_raised == (scenario in RAISES)


def test_products_keep_only_the_operand_the_other_gradient_reads():
    lin = ember.nn.Linear(4, 3).requires_grad_(False)  # frozen: its input's gradient needs W, not x
    x = ember.randn(2, 4, requires_grad=True)
    node = lin(x)._ctx
    assert node.x is None and node.w is lin.weight.array
    w = ember.randn(3, 4, requires_grad=True)
    for op in (lambda a, b: a * b, lambda a, b: a @ b.T):
        node = op(w, ember.randn(3, 4))._ctx  # only w needs a gradient: w itself is not kept
        assert node.a is None and node.b is not None
    node = (ember.randn(3) / ember.randn(3, requires_grad=True))._ctx  # b's gradient reads both
    assert node.a is not None and node.b is not None
