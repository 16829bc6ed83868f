"""A kernel as one flat function: every formula it calls written into its body.

Numba inlines an ``inline="always"`` function by compiling the callee's bytecode to IR again at
every call site, and a kernel has hundreds of sites (each weight's update calls its rule,
which calls const, sqrt, select...): a quarter or more of a kernel's compile time, by Numba's
pass timers. ``flatten``
does the same inlining once, on the Python source: each call of such a function becomes the
callee's statements, its locals renamed apart and its parameters bound to the arguments, and
the result is compiled as one function. The arithmetic and its order are unchanged; only
where a call's arguments are computed moves (into locals just before the call's statements),
which changes nothing for these side-effect-free expressions.

Calls are expanded where Python evaluates them exactly once per statement; a call in a
``while`` test, a conditional expression, a short-circuit operand or a chained comparison is
left to Numba's own inliner, as is a callee whose return is not its last statement.
"""
import ast
import builtins
import collections
import copy
import functools
import linecache

from numba.core.registry import CPUDispatcher


def inlinable(value):
    return isinstance(value, CPUDispatcher) and value.targetoptions.get("inline") == "always"


@functools.lru_cache(maxsize=None)
def _definitions(filename):
    """{first line (its first decorator's, as in co_firstlineno): FunctionDef} of a source
    file, read once (linecache also holds network.py's generated source)."""
    out = {}
    for node in ast.walk(ast.parse("".join(linecache.getlines(filename)))):
        if isinstance(node, ast.FunctionDef):
            out[min([node.lineno] + [d.lineno for d in node.decorator_list])] = node
    return out


class _Callee:
    """What expanding a function needs, worked out once per function: its definition less
    decorators and docstring, its parameters, the names it stores to and how often it reads
    each name."""

    def __init__(self, code):
        fn = copy.copy(_definitions(code.co_filename)[code.co_firstlineno])
        body = fn.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:] or [ast.Pass()]  # the docstring
        fn.body, fn.decorator_list = body, []
        self.fn = fn
        self.params = [a.arg for a in fn.args.args]
        names = [n for n in ast.walk(fn) if isinstance(n, ast.Name)]
        self.stored = {n.id for n in names if isinstance(n.ctx, ast.Store)}
        self.assigned = self.stored | set(self.params)
        self.free = {n.id for n in names} - self.assigned
        self.uses = collections.Counter(n.id for n in names if isinstance(n.ctx, ast.Load))
        self.expression = len(body) == 1 and isinstance(body[0], ast.Return)
        nodes = list(ast.walk(fn))
        returns = [n for n in nodes if isinstance(n, ast.Return)]
        scopes = [n for n in nodes[1:] if isinstance(n, (ast.FunctionDef, ast.Lambda,
                                                         ast.ClassDef, ast.Global, ast.Nonlocal))]
        args = fn.args
        # renaming apart is only sound for one flat scope with plain parameters and one exit
        self.expandable = (not (args.vararg or args.kwarg or args.defaults or args.kwonlyargs
                                or args.posonlyargs or scopes)
                           and all(r is body[-1] for r in returns))


@functools.lru_cache(maxsize=None)
def _callee(code):
    return _Callee(code)


def _function(f):
    return getattr(f, "py_func", f)


def _calls(node):
    """Whether evaluating node calls anything (which might act: otherwise it is pure)."""
    return node is not None and any(isinstance(n, ast.Call) for n in ast.walk(node))


def _known(test):
    """A condition's truth where constants decide it without a call (True, not False,
    x and False, x or True), else None."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _known(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp) and not any(_calls(v) for v in test.values):
        known = [_known(v) for v in test.values]
        decisive = isinstance(test.op, ast.Or)  # True decides an or, False an and
        if decisive in known:
            return decisive
        if all(k is not None for k in known):
            return not decisive
    return None


def _unpacked(s):
    """[s], or for a, b = (x, y) the statements a = x; b = y (Numba would build a tuple and
    unpack it) where that does the same: no later value reads a name assigned before it,
    and where an element of an array is assigned, no later value reads any array or calls
    anything (which might read it)."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Tuple) and isinstance(s.value, ast.Tuple)
            and len(s.targets[0].elts) == len(s.value.elts)):
        return [s]
    targets, values = s.targets[0].elts, s.value.elts
    for i, t in enumerate(targets):
        later = [n for v in values[i + 1:] for n in ast.walk(v)]
        if isinstance(t, ast.Name):
            clash = any(isinstance(n, ast.Name) and n.id == t.id for n in later)
        elif isinstance(t, ast.Subscript):
            clash = any(isinstance(n, (ast.Subscript, ast.Call)) for n in later)
        else:  # starred or nested targets
            clash = True
        if clash or isinstance(values[i], ast.Starred):
            return [s]
    return [ast.Assign([t], v) for t, v in zip(targets, values)]


def _renamed(node, names):
    """A copy of node (a tree, or a list of them) with every Name in names replaced by a
    copy of its replacement: a name (keeping the context) or an expression."""
    if isinstance(node, list):
        return [_renamed(n, names) for n in node]
    if not isinstance(node, ast.AST):
        return node
    if isinstance(node, ast.Name) and node.id in names:
        new = names[node.id]
        if isinstance(new, ast.Name):
            return ast.Name(new.id, node.ctx)
        return _renamed(new, {})
    new = node.__class__.__new__(node.__class__)
    for field in node._fields:
        setattr(new, field, _renamed(getattr(node, field, None), names))
    for attribute in node._attributes:
        if hasattr(node, attribute):
            setattr(new, attribute, getattr(node, attribute))
    return new


class _Flattener:
    def __init__(self, root):
        self.root = _callee(root.__code__)
        self.scope = root.__globals__
        self.globals = {}  # the flat function's globals
        self.sites = 0

    def bind(self, name, value):
        """A global name in the flat function for value (a callee's global `name`)."""
        alias, k = name, 1
        while (alias in self.root.assigned
               or (alias in self.globals and self.globals[alias] is not value)):
            alias, k = f"{name}__g{k}", k + 1
        self.globals[alias] = value
        return alias

    def resolve(self, callee, scope, qualname):
        """{free name of callee: the flat global that holds its value in scope}."""
        names = {}
        for name in callee.free:
            if isinstance(scope.get(name), bool):  # a flag (loops.BLOCKED): see statements
                names[name] = ast.Constant(scope[name])
            elif name in scope:
                names[name] = ast.Name(self.bind(name, scope[name]), ast.Load())
            elif not hasattr(builtins, name):
                raise NameError(f"{name} in {qualname}")
        return names

    def inlinee(self, call):
        """The function a call expands to, or None."""
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords:
            f = self.globals.get(call.func.id)
            if inlinable(f):
                f = _function(f)
                callee = _callee(f.__code__)
                if callee.expandable and len(call.args) == len(callee.params):
                    return f
        return None

    def expand(self, f, args):
        """(statements, result expression or None) of a call of f with args."""
        self.sites += 1
        k = self.sites
        callee = _callee(f.__code__)
        names = self.resolve(callee, f.__globals__, f.__qualname__)
        pre = []
        for param, arg in zip(callee.params, args):
            pure = not _calls(arg)
            if isinstance(arg, (ast.Name, ast.Constant)) and param not in callee.stored:
                names[param] = arg  # a name or number the callee never rebinds: used as is
            elif pure and callee.uses[param] == 0:
                continue  # an argument the callee ignores (keep's h0..h5), read for nothing
            elif pure and callee.expression and callee.uses[param] == 1:
                names[param] = arg  # read where used: nothing happens in between
            else:
                names[param] = ast.Name(f"{param}__{k}", ast.Load())
                pre.append(ast.Assign([ast.Name(f"{param}__{k}", ast.Store())], arg))
        for name in callee.assigned:
            names.setdefault(name, ast.Name(f"{name}__{k}", ast.Load()))
        body = self.statements(_renamed(callee.fn.body, names))
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
                             ast.DictComp, ast.GeneratorExp)) or (
                isinstance(node, ast.Compare) and len(node.ops) > 1):  # a < b < c stops early
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
            elif isinstance(s, ast.If) and _known(s.test) is not None:
                # a flag or an argument bound to a constant (backprop's inplace, loops.MODEL):
                # only the branch taken is written out, not a dead one for Numba to translate
                out += self.statements(s.body if _known(s.test) else s.orelse)
                continue
            elif isinstance(s, (ast.For, ast.While, ast.If)):
                if not isinstance(s, ast.While):  # a while test is evaluated every time round
                    field = "iter" if isinstance(s, ast.For) else "test"
                    setattr(s, field, self.hoist(getattr(s, field), pre))
                s.body = self.statements(s.body) or [ast.Pass()]  # its statements kept none
                s.orelse = self.statements(s.orelse)
            elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr)):
                if value is not None:
                    s.value = self.hoist(value, pre)
            if (isinstance(s, ast.Assign) and isinstance(s.value, (ast.Name, ast.Subscript))
                    and not _calls(s.value)
                    and all(ast.unparse(t) == ast.unparse(s.value) for t in s.targets)):
                s = None  # x = x or S[r, l] = S[r, l], where a formula keeps a value as it is
            out += pre + (_unpacked(s) if s is not None else [])
        return out

    def function(self, qualname):
        fn = _renamed(self.root.fn, self.resolve(self.root, self.scope, qualname))
        fn.body = self.statements(fn.body)
        return fn


def flatten(f, filename=None):
    """f (a plain function whose globals bind the inline="always" functions it calls) as one
    function with every such call written out; the same name, qualified name and docstring,
    and its source in __flat_source__. It keeps f's file name, or takes filename (a real
    file: Numba's on-disk cache needs one to place and validate its files; the qualified name
    tells kernels apart)."""
    flat = _Flattener(f)
    fn = flat.function(f.__qualname__)
    source = ast.unparse(ast.fix_missing_locations(ast.Module([fn], [])))
    namespace = dict(flat.globals)
    exec(compile(source, filename or f.__code__.co_filename, "exec"), namespace)
    g = namespace[fn.name]
    g.__qualname__, g.__doc__, g.__module__ = f.__qualname__, f.__doc__, f.__module__
    g.__flat_source__ = source
    return g
