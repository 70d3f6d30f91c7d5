"""A jinja2 sandbox with a work budget, for templates that come from the network.

jinja2's own sandbox keeps a template away from Python's internals, not from the CPU or memory:
nested loops (each `range` is capped, nesting is not), `"x" * 10**9`, `7 ** 100000000` or
`"{0}{0}{0}…".format(value)` all pass it. Here, in addition, a template

- is checked before it is compiled: no macros, call blocks, includes, imports, blocks, recursive
  loops or `*args`, and list, tuple and dict literals hold constants only (data is never shared, so
  printing it can never multiply it);
- may call only a short list of filters, tests and methods;
- pays a step for every loop iteration, call, filter, test, operator, `~`, attribute and output,
  and stops after MAX_STEPS steps or MAX_SECONDS of CPU time;
- pays for every character (or item) it makes, and stops at MAX_CHARS; what would make a result
  bigger than its inputs (`*`, `**`, `%`, `str.format`, `replace`, `join`, widths, batch sizes) is
  checked before it runs.

Each step is then at most linear (sorting: n log n) in the payload and what the template made so
far, so a render ends within MAX_SECONDS and one such step. The budget is per render, kept in a
context variable, so renders on different threads do not share it.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context
from jinja2.visitor import NodeTransformer

MAX_STEPS = 10_000
MAX_SECONDS = 0.025
MAX_CHARS = 2_000_000  # characters (or list items) a render may make, all together
MAX_INT_BITS = 10_000  # about 3000 digits: Python refuses to print more than 4300 anyway
MAX_ITEMS = 10_000  # range(), batch(), slice()
_WIDTH = re.compile(r"\d{5,}")  # a field width or precision of 10000 or more
_PERCENT_SPEC = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?")
_LOOP_FILTER = "_homeplm_loop"
_CONCAT_FILTER = "_homeplm_concat"


class OverBudget(Exception):
    """The template used up its work budget. Not a ValueError or LookupError: no filter may swallow it."""


class _Budget:
    def __init__(self) -> None:
        # CPU time of this thread: a render that waits for the GIL or the CPU is not charged for it
        # (a busy machine must not disable a good template), one that computes is.
        self.deadline = time.thread_time() + MAX_SECONDS
        self.steps = MAX_STEPS
        self.chars = MAX_CHARS

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise OverBudget(f"more than {MAX_STEPS} steps")
        if time.thread_time() > self.deadline:
            raise OverBudget(f"more than {MAX_SECONDS * 1000:.0f} ms of CPU")

    def afford(self, size: int) -> None:
        if size > self.chars:
            raise OverBudget(f"would make more than {MAX_CHARS} characters")

    def spend(self, size: int) -> None:
        self.afford(size)
        self.chars -= size


_CURRENT: ContextVar[_Budget | None] = ContextVar("homeplm_template_budget", default=None)


@contextmanager
def budget() -> Iterator[None]:
    """Everything a template does inside this block counts against one fresh budget."""
    token = _CURRENT.set(_Budget())
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _budget() -> _Budget:
    current = _CURRENT.get()
    if current is None:  # a template running outside `budget()`: refuse rather than run unmetered
        raise OverBudget("no budget")
    return current


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict, range)) else 1


def _counted(value: Any) -> Any:
    """A value a template made: paid for; lazy results pay per item as they are drawn."""
    if isinstance(value, str) and type(value) is not str:
        value = str.__str__(value)  # Markup (from tojson) → plain text, whose methods are known
    if isinstance(value, Iterator):
        return _metered(value, 1)
    _budget().spend(_size(value))
    return value


def _metered(items: Any, weight: int) -> Iterator[Any]:
    for item in items:
        spent = _budget()
        spent.step()
        spent.spend(weight)
        yield item


# --- what a template may contain -------------------------------------------------------------

_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.If, nodes.For,
    nodes.Assign, nodes.AssignBlock, nodes.With, nodes.FilterBlock, nodes.Getattr, nodes.Getitem,
    nodes.Slice, nodes.Filter, nodes.Test, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And,
    nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div,
    nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Concat, nodes.Call, nodes.Keyword, nodes.List,
    nodes.Tuple, nodes.Dict, nodes.Pair,
)  # fmt: skip
_CONSTANT_NODES = (nodes.Const, nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair)
_FORBIDDEN_NAMES = frozenset({"self", "caller", "varargs", "kwargs"})


def check_tree(tree: nodes.Template) -> None:
    """SecurityError for what a device template never needs and a hostile one would use."""
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise SecurityError(f"{type(node).__name__.lower()} is not allowed in a device template")
        if isinstance(node, nodes.For) and node.recursive:
            raise SecurityError("recursive loops are not allowed")
        if isinstance(node, nodes.Name) and node.name in _FORBIDDEN_NAMES:
            raise SecurityError(f"{node.name!r} is not allowed")
        if isinstance(node, (nodes.Call, nodes.Filter, nodes.Test)) and (node.dyn_args or node.dyn_kwargs):
            raise SecurityError("*args and **kwargs are not allowed")
        literal = isinstance(node, (nodes.List, nodes.Dict)) or (
            isinstance(node, nodes.Tuple) and node.ctx == "load"
        )
        if literal and not all(isinstance(n, _CONSTANT_NODES) for n in node.find_all(nodes.Node)):
            raise SecurityError("list, tuple and dict literals may hold constants only")


class _Meter(NodeTransformer):
    """Every loop iteration pays a step and its body's text; every `~` is a checked filter."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        text = sum(len(d.data) for d in node.find_all(nodes.TemplateData))
        node.iter = nodes.Filter(
            node.iter, _LOOP_FILTER, [nodes.Const(text + 1)], [], None, None, lineno=node.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


def meter(tree: nodes.Template, environment: BudgetedSandbox) -> nodes.Template:
    metered = _Meter().visit(tree)
    metered.set_environment(environment)
    return metered


# --- checks before an operation runs ---------------------------------------------------------


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise OverBudget(f"a number over {MAX_INT_BITS} bits")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "*":
        if isinstance(left, (list, tuple)) or isinstance(right, (list, tuple)):
            raise SecurityError("lists may not be repeated")
        if isinstance(left, str) or isinstance(right, str):
            text, times = (left, right) if isinstance(left, str) else (right, left)
            if isinstance(times, int):
                _budget().afford(len(text) * max(times, 0))
        elif ints:
            _check_int_bits(left.bit_length() + right.bit_length())
    elif operator == "**" and ints and right > 0:
        _check_int_bits(max(left.bit_length() - 1, 0) * right)
    elif operator == "+":
        if isinstance(left, (list, tuple)) or isinstance(right, (list, tuple)):
            raise SecurityError("lists may not be added")
        if isinstance(left, str) and isinstance(right, str):
            _budget().afford(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, right)


def check_percent_format(fmt: str, args: Any) -> None:
    """`fmt % args` may not take widths from its arguments, nor make more than the budget allows."""
    if "%(" in fmt:
        raise SecurityError("%(name) formats are not allowed")
    fields = 0
    for spec in _PERCENT_SPEC.finditer(fmt):
        if "*" in spec.group():
            raise SecurityError("* widths are not allowed")
        fields += 1
    _check_widths(fmt)  # over the whole string: a 5-digit number in its text is refused too
    _budget().afford(len(fmt) + fields * (len(str(args)) + 10_000))


def check_str_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """`fmt.format(...)`: no widths from arguments, and at most the budget's worth of output."""
    fields = 0
    for _, name, spec, _ in string.Formatter().parse(fmt):
        if name is None:
            continue
        if spec and "{" in spec:
            raise SecurityError("nested format fields are not allowed")
        _check_widths(spec or "")
        fields += 1
    arguments = sum(len(str(a)) for a in (*args, *kwargs.values()))
    _budget().afford(len(fmt) + fields * (arguments + 10_000))


def _check_widths(spec: str) -> None:
    if _WIDTH.search(spec):
        raise OverBudget("a field width of 10000 or more")


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return  # replace() itself refuses the wrong types (the filter makes them strings: bounded)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _budget().afford(len(text) + found * max(len(new) - len(old), 0))


def _check_replace_filter(text: Any, old: Any, new: Any, count: Any = None) -> None:
    _check_replace(str(text), str(old), str(new), count)  # the filter makes strings of all three


def _check_join(items: list[Any], separator: Any) -> None:
    if len(items) > MAX_CHARS:
        raise OverBudget("too many items to join")
    parts = sum(len(i) for i in items if isinstance(i, str))
    _budget().afford(parts + len(str(separator)) * max(len(items) - 1, 0))


def _check_count(count: Any, fill_with: Any = None) -> None:
    if isinstance(count, int) and count > MAX_ITEMS:
        raise OverBudget(f"more than {MAX_ITEMS} items")
    if fill_with is not None and _size(fill_with) > 100:
        raise SecurityError("fill_with must be short")


def _check_round(precision: Any = 0, method: Any = "common") -> None:
    if isinstance(precision, int) and abs(precision) > 100:
        raise SecurityError("round() to more than 100 digits")


def _check_tojson(indent: Any = None) -> None:
    if indent is not None:
        raise SecurityError("tojson(indent) is not allowed")


def _check_sum(attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, (int, float)):
        raise SecurityError("sum() adds numbers only")


# --- filters, methods and globals a template may use -----------------------------------------

# filter name → check of its arguments after the value (None: nothing to check)
_FILTER_CHECKS: dict[str, Callable[..., None] | None] = {
    "abs": None, "attr": None, "batch": _check_count, "capitalize": None, "count": None, "d": None,
    "default": None, "dictsort": None, "first": None, "float": None, "format": None, "groupby": None,
    "int": None, "items": None, "join": None, "last": None, "length": None, "list": None, "lower": None,
    "map": None, "max": None, "min": None, "reject": None, "rejectattr": None, "replace": None,
    "reverse": None, "round": _check_round, "select": None, "selectattr": None, "slice": _check_count,
    "sort": None, "string": None, "sum": _check_sum, "title": None, "tojson": _check_tojson,
    "trim": None, "truncate": None, "unique": None, "upper": None, "urlencode": None,
    "wordcount": None,
}  # fmt: skip
_STR_METHODS = frozenset({
    "lower", "upper", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
    "split", "rsplit", "splitlines", "partition", "rpartition", "startswith", "endswith", "find",
    "rfind", "index", "rindex", "count", "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum",
    "isspace", "islower", "isupper", "istitle", "removeprefix", "removesuffix", "replace", "join",
    "center", "ljust", "rjust", "zfill",
})  # fmt: skip
_METHODS: dict[type, frozenset[str]] = {
    str: _STR_METHODS,
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
    int: frozenset({"bit_length", "is_integer"}),
    float: frozenset({"is_integer"}),
}
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        raise OverBudget(f"range() of more than {MAX_ITEMS} numbers")
    return numbers


def _pass_arg(context: Context, func: Callable[..., Any]) -> tuple[Any, ...]:
    arg = _PassArg.from_obj(func)
    if arg is _PassArg.context:
        return (context,)
    if arg is _PassArg.eval_context:
        return (context.eval_ctx,)
    if arg is _PassArg.environment:
        return (context.environment,)
    return ()


def _metered_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS[name]

    @pass_context
    def run(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().step()
        if check is not None:
            check(*args, **kwargs)
        if name == "join":
            value = list(value)
            _check_join(value, args[0] if args else kwargs.get("d", ""))
        elif name == "replace":
            _check_replace_filter(value, *args, **kwargs)
        elif name == "format":
            check_percent_format(str(value), kwargs or args)
        return _counted(func(*_pass_arg(context, func), value, *args, **kwargs))

    return run


def _metered_test(func: Callable[..., Any]) -> Callable[..., Any]:
    @pass_context
    def run(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().step()
        return func(*_pass_arg(context, func), value, *args, **kwargs)

    return run


@pass_context
def _loop(context: Context, items: Any, weight: int) -> Iterator[Any]:
    return _metered(items, weight)


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    spent = _budget()
    spent.step()
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    spent.spend(sum(map(len, texts)))
    return "".join(texts)


@pass_context
def _finalize(context: Context, value: Any) -> str:
    """Every `{{ … }}` pays a step and what it prints."""
    spent = _budget()
    spent.step()
    text = value if isinstance(value, str) else str(value)
    spent.spend(len(text))
    return text


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    # Every operator pays a step; none may be folded at compile time, outside the budget.
    """A jinja2 sandbox that stops a template past its work budget."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals = {"range": _range}
        self.filters = {name: _metered_filter(name, self.filters[name]) for name in _FILTER_CHECKS}
        self.filters[_LOOP_FILTER] = _loop
        self.filters[_CONCAT_FILTER] = _concat
        tests: dict[str, Any] = self.tests  # jinja2 types them as a bare `function`
        self.tests = {name: _metered_test(test) for name, test in tests.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().step()
        _check_binop(operator, left, right)
        return _counted(super().call_binop(context, operator, left, right))

    def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
        _budget().step()
        return super().call_unop(context, operator, arg)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().step()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map":
                raise SecurityError("format_map() is not allowed")
            check_str_format(fmt, args, kwargs)
            return wrapped(*args, **kwargs)

        checked.homeplm_checked = True  # type: ignore[attr-defined]
        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().step()
        if __obj is _range or getattr(__obj, "homeplm_checked", False):
            return _counted(__context.call(__obj, *args, **kwargs))
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, LoopContext) and name in ("cycle", "changed"):
            return __context.call(__obj, *args, **kwargs)
        if name not in _METHODS.get(type(owner), ()):
            raise SecurityError(f"calling {name or type(__obj).__name__!r} is not allowed")
        if name == "join":
            items = list(args[0]) if args else []
            _check_join(items, owner)
            args = (items,)
        elif name == "replace":
            _check_replace(owner, *args, **kwargs)
        elif name in _WIDTH_METHODS and args and isinstance(args[0], int):
            _budget().afford(args[0])
        return _counted(__obj(*args, **kwargs))
