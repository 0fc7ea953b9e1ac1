/**
 * Notebook variables for DIDs: the name a DID gets, and which names may be bound at all.
 * The same rules as python-shim kernel/names.py: both are tested against
 * spec/vectors/variable_names.json and spec/vectors/bindable_names.json.
 */

/**
 * How a notebook variable is named after a DID (setting `variableNaming`).
 */
export type VariableNaming = 'short' | 'name' | 'scope_name';

export const NAMINGS: ReadonlyArray<VariableNaming> = [
  'short',
  'name',
  'scope_name'
];

export const DEFAULT_NAMING: VariableNaming = 'name';

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else ' +
    'except finally for from global if import in is lambda nonlocal not or pass raise ' +
    'return try while with yield'
  ).split(' ')
);

/** The names of Python's builtins module in CPython 3.10 to 3.13 (the kernel checks its own). */
const PYTHON_BUILTINS = new Set(
  (
    'ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup ' +
    'BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError ' +
    'ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError ' +
    'DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception ' +
    'ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError ' +
    'FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError ' +
    'IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError ' +
    'MemoryError ModuleNotFoundError NameError None NotADirectoryError NotImplemented ' +
    'NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError ' +
    'ProcessLookupError PythonFinalizationError RecursionError ReferenceError ' +
    'ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration StopIteration ' +
    'SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError True ' +
    'TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError ' +
    'UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning ' +
    'ZeroDivisionError _IncompleteInputError abs aiter all anext any ascii bin bool ' +
    'breakpoint bytearray bytes callable chr classmethod compile complex copyright ' +
    'credits delattr dict dir divmod enumerate eval exec exit filter float format ' +
    'frozenset getattr globals hasattr hash help hex id input int isinstance issubclass ' +
    'iter len license list locals map max memoryview min next object oct open ord pow ' +
    'print property quit range repr reversed round set setattr slice sorted staticmethod ' +
    'str sum super tuple type vars zip'
  ).split(' ')
);

const IPYTHON_NAMES = new Set([
  'In',
  'Out',
  'get_ipython',
  'exit',
  'quit',
  'display'
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Dunder names, and IPython's output and input history (_, __, ___, _7, _i, _ii, _iii, _i7 ...).
const INTERNAL = /^(?:__\w*__|_{1,3}|_\d+|_i{1,3}|_i\d+|_[iod]h)$/;

/**
 * Whether a kernel may bind `name` without breaking Python or IPython: an ASCII identifier,
 * not a keyword, not a builtin, not IPython's own.
 */
export function isBindableName(name: string): boolean {
  return (
    IDENTIFIER.test(name) &&
    !PYTHON_KEYWORDS.has(name) &&
    !INTERNAL.test(name) &&
    !IPYTHON_NAMES.has(name) &&
    !PYTHON_BUILTINS.has(name)
  );
}

function identifier(text: string): string {
  let name = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (name === '') {
    name = 'data';
  }
  if (/^[0-9]/.test(name)) {
    name = `d_${name}`; // never `_2020`: that is IPython's output history
  }
  return isBindableName(name) ? name : `${name}_`;
}

/**
 * A bindable variable name for a DID: with `demo:lofar-obs-sb001`, `name` (the last path
 * segment of the name) gives `lofar_obs_sb001`, `scope_name` `demo_lofar_obs_sb001` and
 * `short` (its last word) `sb001`.
 */
export function variableName(
  did: string,
  naming: VariableNaming = DEFAULT_NAMING
): string {
  const at = did.indexOf(':');
  const scope = at < 0 ? '' : did.slice(0, at);
  const segments = (at < 0 ? did : did.slice(at + 1))
    .split('/')
    .filter(s => s !== '');
  const last = segments.length > 0 ? segments[segments.length - 1] : '';
  if (naming === 'name') {
    return identifier(last);
  }
  if (naming === 'scope_name') {
    return identifier(`${scope}_${last}`);
  }
  // The last word without a file extension; a number keeps the word before it (run-2 → run_2).
  const stem = segments.join('/').replace(/\.[A-Za-z][A-Za-z0-9]{0,5}$/, '');
  const words = stem.split(/[-./]+/).filter(w => w !== '');
  if (words.length === 0) {
    return identifier(last);
  }
  let short = words[words.length - 1];
  if (/^[0-9]+$/.test(short) && words.length > 1) {
    short = `${words[words.length - 2]}_${short}`;
  }
  return identifier(short);
}
