"""A kernel as one flat function: every formula it calls written into its body.

Numba inlines an ``inline="always"`` function by compiling the callee's bytecode to IR again at
every call site, and a kernel has thousands of sites (each weight's update calls its rule,
which calls const, sqrt, select...): that was a third of a kernel's compile time. ``flatten``
does the same inlining once, on the Python source: each call of such a function becomes the
callee's statements, its locals renamed apart and its parameters bound to the arguments, and
the result is compiled as one function. The arithmetic and its order are unchanged; only
where a call's arguments are computed moves (into locals just before the call's statements),
which changes nothing for these side-effect-free expressions.

Calls are expanded where Python evaluates them exactly once per statement; a call in a
``while`` test, a conditional expression or a short-circuit operand is left to Numba's own
inliner, as is a callee whose return is not its last statement.
"""
import ast
import builtins
import collections
import copy
import functools
import inspect
import textwrap

from numba.core.registry import CPUDispatcher


def inlinable(value):
    return isinstance(value, CPUDispatcher) and value.targetoptions.get("inline") == "always"


@functools.lru_cache(maxsize=None)
def _tree(code):
    """The FunctionDef of a code object's source, decorators dropped."""
    src = textwrap.dedent("".join(inspect.getsourcelines(code)[0]))
    fn = ast.parse(src).body[0]
    fn.decorator_list = []
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        fn.body = fn.body[1:] or [ast.Pass()]  # the docstring
    return fn


def _function(f):
    return getattr(f, "py_func", f)


def _calls(node):
    """Whether evaluating node calls anything (which might act: otherwise it is pure)."""
    return node is not None and any(isinstance(n, ast.Call) for n in ast.walk(node))


def _assigned(fn):
    """Names a function binds: parameters and every name stored to."""
    names = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


class _Rename(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names  # name -> replacement expression (a fresh copy per use)

    def visit_Name(self, node):
        new = self.names.get(node.id)
        if new is None:
            return node
        new = copy.deepcopy(new)
        if isinstance(new, ast.Name):
            new.ctx = node.ctx
        return ast.copy_location(new, node)


class _Flattener:
    def __init__(self, root):
        self.root = root
        self.fn = copy.deepcopy(_tree(root.__code__))
        self.locals = _assigned(self.fn)
        self.globals = {}  # the flat function's globals
        self.sites = 0

    def bind(self, name, value):
        """A global name in the flat function for value (a callee's global `name`)."""
        alias, k = name, 1
        while alias in self.locals or (alias in self.globals and self.globals[alias] is not value):
            alias, k = f"{name}__g{k}", k + 1
        self.globals[alias] = value
        return alias

    def resolve(self, f, node):
        """{free name of f's FunctionDef node: the flat global that holds its value}."""
        scope, local, names = f.__globals__, _assigned(node), {}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id not in local and n.id not in names:
                if n.id in scope:
                    names[n.id] = ast.Name(self.bind(n.id, scope[n.id]), ast.Load())
                elif not hasattr(builtins, n.id):
                    raise NameError(f"{n.id} in {f.__qualname__}")
        return names

    def inlinee(self, call):
        """The function a call expands to, or None."""
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords:
            f = self.globals.get(call.func.id)
            if inlinable(f):
                fn = _tree(_function(f).__code__)
                returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
                simple = not (fn.args.vararg or fn.args.kwarg or fn.args.defaults
                              or fn.args.kwonlyargs or fn.args.posonlyargs)
                if (simple and len(call.args) == len(fn.args.args)
                        and all(r is fn.body[-1] for r in returns)):
                    return _function(f)
        return None

    def expand(self, f, args):
        """(statements, result expression or None) of a call of f with args."""
        self.sites += 1
        k = self.sites
        fn = copy.deepcopy(_tree(f.__code__))
        assigned = _assigned(fn)
        names = self.resolve(f, fn)
        pre = []
        stored = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
        uses = collections.Counter(n.id for s in fn.body for n in ast.walk(s)
                                   if isinstance(n, ast.Name))
        expression = len(fn.body) == 1 and isinstance(fn.body[0], ast.Return)
        for param, arg in zip((a.arg for a in fn.args.args), args):
            pure = not _calls(arg)
            if isinstance(arg, (ast.Name, ast.Constant)) and param not in stored:
                names[param] = arg  # a name or number the callee never rebinds: used as is
            elif pure and uses[param] == 0:
                continue  # an argument the callee ignores (keep's h0..h5), read for nothing
            elif pure and expression and uses[param] == 1:
                names[param] = arg  # read where used: nothing happens in between
            else:
                names[param] = ast.Name(f"{param}__{k}", ast.Load())
                pre.append(ast.Assign([ast.Name(f"{param}__{k}", ast.Store())], arg))
        for name in assigned:
            names.setdefault(name, ast.Name(f"{name}__{k}", ast.Load()))
        body = self.statements([_Rename(names).visit(s) for s in fn.body])
        result = None
        if body and isinstance(body[-1], ast.Return):
            result = body.pop().value
        return pre + body, result

    def value(self, call, pre):
        """The result expression of an expandable call (None if it returns nothing), its
        arguments and statements evaluated into pre."""
        call.args = [self.hoist(a, pre) for a in call.args]
        stmts, result = self.expand(self.inlinee(call), call.args)
        pre += stmts
        return result

    def hoist(self, node, pre):
        """node with every expandable call in it replaced by its result, evaluated into pre,
        inner calls first, left to right; calls under conditional evaluation left as they are."""
        if isinstance(node, (ast.IfExp, ast.BoolOp, ast.Lambda, ast.ListComp, ast.SetComp,
                             ast.DictComp, ast.GeneratorExp)):
            return node
        if self.inlinee(node):
            result = self.value(node, pre)
            if result is None:
                return ast.Constant(None)
            if isinstance(result, (ast.Name, ast.Constant)):
                return result
            self.sites += 1
            tmp = f"r__{self.sites}"
            pre.append(ast.Assign([ast.Name(tmp, ast.Store())], result))
            return ast.Name(tmp, ast.Load())
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.AST):
                setattr(node, field, self.hoist(value, pre))
            elif isinstance(value, list):
                setattr(node, field, [self.hoist(v, pre) if isinstance(v, ast.AST) else v
                                      for v in value])
        return node

    def statements(self, body):
        out = []
        for s in body:
            pre = []
            value = getattr(s, "value", None)
            if isinstance(s, ast.Expr) and self.inlinee(value):
                result = self.value(value, pre)
                s = ast.Expr(result) if _calls(result) else None  # a call may act: kept
            elif isinstance(s, (ast.Assign, ast.Return)) and self.inlinee(value):
                s.value = self.value(value, pre) or ast.Constant(None)  # the result, unnamed
            elif isinstance(s, (ast.For, ast.While, ast.If)):
                if not isinstance(s, ast.While):  # a while test is evaluated every time round
                    field = "iter" if isinstance(s, ast.For) else "test"
                    setattr(s, field, self.hoist(getattr(s, field), pre))
                s.body = self.statements(s.body)
                s.orelse = self.statements(s.orelse)
            elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr)):
                if value is not None:
                    s.value = self.hoist(value, pre)
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and all(
                    isinstance(t, ast.Name) and t.id == s.value.id for t in s.targets):
                s = None  # x = x, where a rule returns its argument as it is
            out += pre + ([s] if s is not None else [])
        return out

    def function(self):
        fn = self.fn
        names = self.resolve(self.root, fn)
        fn = _Rename(names).visit(fn)
        fn.body = self.statements(fn.body)
        return fn


def flatten(f):
    """f (a plain function whose globals bind the inline="always" functions it calls) as one
    function with every such call written out; the same name, qualified name and docstring,
    and its source in __flat_source__. It keeps f's file name, which Numba's on-disk cache
    needs to place and validate its files (the qualified name tells kernels apart)."""
    flat = _Flattener(f)
    fn = flat.function()
    source = ast.unparse(ast.fix_missing_locations(ast.Module([fn], [])))
    namespace = dict(flat.globals)
    exec(compile(source, f.__code__.co_filename, "exec"), namespace)
    g = namespace[fn.name]
    g.__qualname__, g.__doc__, g.__module__ = f.__qualname__, f.__doc__, f.__module__
    g.__flat_source__ = source
    return g
