#!/usr/bin/env python3
"""sw_example: print float(a) + float(b).

With two arguments, adds them (`python /add.py 4 5` prints 9.0). With none, reads
"a b" from stdin.txt in the current directory (how the user's document's examples
E and F pass their input).
"""

import sys


def main(argv: list[str]) -> None:
    if len(argv) >= 2:
        a, b = argv[0], argv[1]
    else:
        with open("stdin.txt") as f:
            a, b = f.read().split()[:2]
    print(float(a) + float(b))


if __name__ == "__main__":
    main(sys.argv[1:])
