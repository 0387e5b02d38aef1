"""The README's promises on readability: no function of ``canister.py`` is graded worse than B by radon,
and each of its sections uses only what it or the sections above it define."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from typing import Dict, FrozenSet, Iterator, List, Set, Tuple, Union

from helpers import ROOT


def test_radon_grades_no_function_or_class_of_canister_c_or_worse():
    result = subprocess.run([sys.executable, '-m', 'radon', 'cc', '--show-complexity', '--min', 'C',
                             str(ROOT / 'canister.py')], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '', 'radon grades these C or worse (split them):\n' + result.stdout


def test_the_check_above_would_see_a_complex_function(tmp_path):
    """radon is run the way the test above runs it, and does report a tangled function."""
    branches = '\n'.join('    if x == %d:\n        return %d' % (n, n) for n in range(12))
    source = tmp_path / 'tangled.py'
    source.write_text('def tangled(x):\n%s\n    return -1\n' % branches)
    result = subprocess.run([sys.executable, '-m', 'radon', 'cc', '--show-complexity', '--min', 'C', str(source)],
                            capture_output=True, text=True, timeout=120)
    assert 'tangled - C (13)' in result.stdout, result.stdout


# Reading order: each section of canister.py uses only names that it or a section above it defines.

_BANNER = re.compile(r'^# ([A-Z][A-Za-z ,]*?) #{3,}$')


def _sections(lines: List[str]) -> List[Tuple[int, str]]:
    """(first line, title) of each banner section, with the module's head (docstring, imports) as the first."""
    return [(1, 'the head')] + [(number, match.group(1)) for number, line in enumerate(lines, 1)
                                for match in [_BANNER.match(line)] if match]


def _section_at(line: int, sections: List[Tuple[int, str]]) -> int:
    return max(index for index, (first, _) in enumerate(sections) if first <= line)


def _module_names(statement: ast.stmt) -> List[str]:
    """The names a top-level statement defines (def, class, import, assignment, also inside if or try)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split('.')[0] for alias in statement.names]
    if isinstance(statement, (ast.If, ast.Try)):
        inner = statement.body + statement.orelse + getattr(statement, 'finalbody', [])
        inner += [child for handler in getattr(statement, 'handlers', []) for child in handler.body]
        return [name for child in inner for name in _module_names(child)]
    targets = (statement.targets if isinstance(statement, ast.Assign)
               else [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else [])
    return [node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)]


def _local_names(function: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]) -> Set[str]:
    """The names a function binds in its own scope (arguments, assignments, imports, nested defs), less its globals."""
    arguments = function.args
    names = {argument.arg for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
             + [arguments.vararg, arguments.kwarg] if argument is not None}
    declared_global: Set[str] = set()
    pending: List[ast.AST] = list(function.body) if isinstance(function.body, list) else [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split('.')[0] for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names - declared_global


def _uses(node: ast.AST, local: FrozenSet[str] = frozenset(), annotation: bool = False) -> Iterator[Tuple[str, int]]:
    """(name, line) of every module-level name ``node`` reads, function bodies and type hints (quoted ones too)
    included: what a reader needs to know at that line."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        for outer in getattr(node, 'decorator_list', []) + arguments.defaults + arguments.kw_defaults:
            if outer is not None:
                yield from _uses(outer, local)
        hints = [argument.annotation for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
                 + [arguments.vararg, arguments.kwarg] if argument is not None]
        for hint in hints + [getattr(node, 'returns', None)]:
            if hint is not None:
                yield from _uses(hint, local, annotation=True)
        inner = local | _local_names(node)
        for statement in node.body if isinstance(node.body, list) else [node.body]:
            yield from _uses(statement, inner)
    elif isinstance(node, ast.ClassDef):
        for outer in node.decorator_list + node.bases + [keyword.value for keyword in node.keywords]:
            yield from _uses(outer, local)
        in_class: Set[str] = set()  # (a class body reads its own earlier attributes; its methods do not)
        for statement in node.body:
            is_method = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            yield from ((name, line) for name, line in _uses(statement, local) if is_method or name not in in_class)
            in_class.update(_module_names(statement))
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        bound = {name.id for generator in node.generators for name in ast.walk(generator.target)
                 if isinstance(name, ast.Name)}
        for child in ast.iter_child_nodes(node):
            yield from _uses(child, local | bound)
    elif isinstance(node, ast.AnnAssign):
        yield from _uses(node.annotation, local, annotation=True)
        for child in (node.target, node.value):
            if child is not None:
                yield from _uses(child, local)
    else:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            yield node.id, node.lineno
        if annotation and isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from ((word, node.lineno) for word in re.findall(r'[A-Za-z_]\w*', node.value) if word not in local)
        for child in ast.iter_child_nodes(node):
            yield from _uses(child, local, annotation)


def forward_references(source: str) -> List[str]:
    """Each use of a module-level name in a section above the one that defines it, as ``line: name (...)``."""
    sections = _sections(source.splitlines())
    tree = ast.parse(source)
    defined_in: Dict[str, int] = {}
    for statement in tree.body:
        for name in _module_names(statement):
            defined_in.setdefault(name, _section_at(statement.lineno, sections))
    found = []
    for statement in tree.body:
        if _module_names(statement) == ['__all__']:
            continue  # (the public names, as text)
        for name, line in _uses(statement):
            here = _section_at(line, sections)
            if defined_in.get(name, here) > here:
                found.append('%d: %s, in %s, is defined below, in %s'
                             % (line, name, sections[here][1], sections[defined_in[name]][1]))
    return found


def test_each_section_of_canister_uses_only_names_of_its_own_or_an_earlier_section():
    found = forward_references((ROOT / 'canister.py').read_text(encoding='utf-8'))
    assert found == [], 'move these to the section that owns them, or their users below it:\n' + '\n'.join(found)


def test_the_reading_order_check_sees_a_later_name_in_a_body_and_a_quoted_hint_and_not_a_local_one():
    source = ('import os\n'
              '# First ######\n'
              'def early(request: "Context") -> None:\n'
              '    helper = 1\n'
              '    return later(helper, os.sep)\n'
              '# Second #####\n'
              'class Context:\n'
              '    pass\n'
              'def later(value, sep):\n'
              '    return early\n'
              'def helper():\n'
              '    pass\n')
    assert forward_references(source) == ['3: Context, in First, is defined below, in Second',
                                           '5: later, in First, is defined below, in Second']


def test_the_patterns_that_read_a_routes_rule_are_defined_together_in_parameter_unpacking():
    """Where a reader of Bottle's wildcards (and of the spellings of other frameworks) finds them all."""
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    sections = _sections(source.splitlines())
    where = {name: sections[_section_at(statement.lineno, sections)][1] for statement in ast.parse(source).body
             for name in _module_names(statement) if name in ('_ROUTE_WILDCARD', '_FILTERED_WILDCARD', '_BRACED_PLACEHOLDER')}
    assert where == dict.fromkeys(('_ROUTE_WILDCARD', '_FILTERED_WILDCARD', '_BRACED_PLACEHOLDER'), 'Parameter Unpacking')


# A ``#:`` line (the comment Sphinx reads as an attribute's documentation) on every attribute of a class.

def _assigned(statement: ast.AST) -> List[ast.expr]:
    """The targets of an assignment statement, tuples unpacked; none for another statement."""
    targets = (statement.targets if isinstance(statement, ast.Assign)
               else [statement.target] if isinstance(statement, ast.AnnAssign) else [])
    return [element for target in targets for element in (target.elts if isinstance(target, ast.Tuple) else [target])]


def _init_attributes(cls: ast.ClassDef) -> List[Tuple[str, ast.stmt]]:
    """``self.x`` set in ``__init__``, each with the statement that sets it first."""
    inits = [statement for statement in cls.body if isinstance(statement, ast.FunctionDef) and statement.name == '__init__']
    statements = sorted((node for init in inits for node in ast.walk(init) if isinstance(node, (ast.Assign, ast.AnnAssign))),
                        key=lambda node: (node.lineno, node.col_offset))
    first: Dict[str, ast.stmt] = {}
    for statement in statements:
        for target in _assigned(statement):
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == 'self':
                first.setdefault(target.attr, statement)
    return list(first.items())


def undocumented_attributes(source: str) -> List[str]:
    """Each attribute of a class (set in its body, or first set in its ``__init__`` and not by a base class
    of the module) without a ``#:`` line right above the statement that sets it, as ``line: Class.name``."""
    lines = source.splitlines()
    classes = {node.name: node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)}

    def has_doc(statement: ast.stmt) -> bool:
        return lines[statement.lineno - 2].strip().startswith('#:')

    def inherited(cls: ast.ClassDef) -> Set[str]:
        names: Set[str] = set()
        for base in (classes[b.id] for b in cls.bases if isinstance(b, ast.Name) and b.id in classes):
            names |= {t.id for s in base.body for t in _assigned(s) if isinstance(t, ast.Name)}
            names |= {name for name, _ in _init_attributes(base)} | inherited(base)
        return names

    found = []
    for cls in classes.values():
        own = {target.id: statement for statement in cls.body for target in _assigned(statement)
               if isinstance(target, ast.Name)}
        known = set(own) | inherited(cls)
        found += ['%d: %s.%s' % (statement.lineno, cls.name, name) for name, statement in own.items()
                  if not has_doc(statement)]
        found += ['%d: %s.%s' % (statement.lineno, cls.name, name) for name, statement in _init_attributes(cls)
                  if name not in known and not has_doc(statement)]
    return sorted(found, key=lambda entry: int(entry.split(':')[0]))


def test_every_attribute_of_a_class_of_canister_has_a_doc_comment_line():
    found = undocumented_attributes((ROOT / 'canister.py').read_text(encoding='utf-8'))
    assert found == [], 'give each a #: line above it, saying what it holds:\n' + '\n'.join(found)


def test_the_doc_comment_check_sees_a_class_attribute_and_one_set_first_in_init_without_one():
    source = ('class Base:\n'
              '    #: Documented.\n'
              '    size = 1\n'
              '    limit = 2\n'
              '    def __init__(self, name):\n'
              '        #: Documented.\n'
              '        self.name = name\n'
              '        self.count = 0\n'
              '        self.size = 3\n'
              'class Child(Base):\n'
              '    def __init__(self):\n'
              '        self.name = "child"\n'
              '        #: Documented.\n'
              '        self.extra, self.more = 1, 2\n'
              '        self.last = 3\n')
    assert undocumented_attributes(source) == ['4: Base.limit', '8: Base.count', '15: Child.last']
