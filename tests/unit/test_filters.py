"""The filter language: parsing, safety, and (property-based) agreement with plain Python filtering."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telegraphy.gateway.filters import FilterError, compile_filter

FIELDS = ["data.room", "data.price", "data.n", "data.flag", "meta.event_type", "name", "data.missing"]
values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False, width=32),
                   st.sampled_from(["lobby", "kitchen", "", "a\"b", "o'k"]))


# -- a reference evaluator written independently of the gateway's, over the same AST ---------
def resolve(env, path):
    node = env
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ("missing",)
        node = node[part]
    return node


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def reference(ast, env):
    op = ast[0]
    if op == "and":
        return reference(ast[1], env) and reference(ast[2], env)
    if op == "or":
        return reference(ast[1], env) or reference(ast[2], env)
    if op == "not":
        return not reference(ast[1], env)
    if op == "in":
        v = resolve(env, ast[1])
        return v != ("missing",) and any(kind(v) == kind(x) and v == x for x in ast[2])
    _, cmp, path, literal = ast
    v = resolve(env, path)
    equal = v != ("missing",) and kind(v) == kind(literal) and v == literal
    if cmp == "==":
        return equal
    if cmp == "!=":
        return not equal
    if v == ("missing",) or kind(v) != kind(literal) or kind(v) not in ("number", "str"):
        return False
    return {"<": v < literal, "<=": v <= literal, ">": v > literal, ">=": v >= literal}[cmp]


def render(ast):
    op = ast[0]
    if op in ("and", "or"):
        return f"({render(ast[1])} {op} {render(ast[2])})"
    if op == "not":
        return f"not {render(ast[1])}"
    if op == "in":
        return f"{ast[1]} in [{', '.join(json.dumps(x) for x in ast[2])}]"
    return f"{ast[2]} {ast[1]} {json.dumps(ast[3])}"


comparisons = st.tuples(st.just("cmp"), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                        st.sampled_from(FIELDS), values)
memberships = st.tuples(st.just("in"), st.sampled_from(FIELDS), st.lists(values, max_size=3))
asts = st.recursive(st.one_of(comparisons, memberships), lambda inner: st.one_of(
    st.tuples(st.sampled_from(["and", "or"]), inner, inner), st.tuples(st.just("not"), inner)), max_leaves=6)
envelopes = st.fixed_dictionaries({
    "name": st.sampled_from(["chat.Message", "shop.Order"]),
    "data": st.dictionaries(st.sampled_from(["room", "price", "n", "flag"]), values),
    "meta": st.fixed_dictionaries({"event_type": st.sampled_from([None, "create", "update", "delete"])}),
})


@settings(max_examples=400, deadline=None)
@given(asts, st.lists(envelopes, min_size=1, max_size=8))
def test_gateway_filtering_equals_python_filtering(ast, events):
    predicate = compile_filter(render(ast))
    assert [e for e in events if predicate(e)] == [e for e in events if reference(ast, e)]


def test_channel_emulation_and_nested_paths():
    lobby = compile_filter('data.room == "lobby" and not meta.event_type in ["delete"]')
    assert lobby({"data": {"room": "lobby"}, "meta": {"event_type": "create"}})
    assert not lobby({"data": {"room": "lobby"}, "meta": {"event_type": "delete"}})
    assert not lobby({"data": {"room": "kitchen"}, "meta": {}})
    deep = compile_filter("data.user.age >= 18 or data.tags.0 == 'vip'")
    assert deep({"data": {"user": {"age": 20}}}) and deep({"data": {"tags": ["vip"]}})
    assert not deep({"data": {"user": {"age": "20"}}})


@pytest.mark.parametrize("text", ["", "   ", "data.x ==", "data.x = 1", "(data.x == 1", "data.x == 1)",
                                  "__import__('os')", "foo.bar == 1", "data.x == 1 and", "data.x in [1,",
                                  "x" * 2000, "not " * 40 + "data.x", "(" * 40 + "data.x" + ")" * 40, 42, None])
def test_invalid_filters_are_refused_with_a_reason(text):
    with pytest.raises(FilterError):
        compile_filter(text)
