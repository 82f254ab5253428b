"""Python's verdict on check kinds, as oslo.policy's GenericCheck meets them.

Reads a file of kinds, one JSON-encoded string a line, and prints one line for each:

    literal <json of str(value)>   ast.literal_eval(kind) returned value
    value                          it raised ValueError: GenericCheck reads the kind as a path
    syntax <json of the message>   it raised SyntaxError (IndentationError is one)
    error <json of the type name>  it raised anything else (GenericCheck does not catch it)

`str(value)` raising ValueError (an int beyond the 4300 digits Python converts) is `value`,
as in GenericCheck, where the same `except ValueError` covers both calls.

literal_eval is called as deep in Python's stack as oslopolicy-checker calls it for a rule of
the policy file, since how deeply nested an expression may be before building its AST raises
RecursionError depends on that depth.

Usage: python3 classify_kinds.py KINDS_FILE
"""

import ast
import json
import sys
import warnings

# what the tokenizer only warns about (`1if x else y`, `'\d'`) stays a warning, unshown
warnings.simplefilter("ignore")


def verdict(kind):
    try:
        return "literal " + json.dumps(str(ast.literal_eval(kind)))
    except ValueError:
        return "value"
    except SyntaxError as e:
        return "syntax " + json.dumps(str(e.msg))
    except Exception as e:  # noqa: BLE001 - any other exception is a verdict too
        return "error " + json.dumps(type(e).__name__)


# Python frames between this module's top level and literal_eval in oslopolicy-checker
# (oslo_policy.shell.tool -> _try_rule -> the check -> GenericCheck.__call__ ...), less the
# two of main() and verdict() here.
CHECKER_DEPTH = 9


def at_depth(n, f, *args):
    return f(*args) if n == 0 else at_depth(n - 1, f, *args)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        kinds = [json.loads(line) for line in f if line.strip()]
    out = sys.stdout
    for kind in kinds:
        out.write(at_depth(CHECKER_DEPTH, verdict, kind) + "\n")


if __name__ == "__main__":
    main()
