"""Checks that no code compiled for one instruction set can replace code compiled for another.

Each *_avx2.cpp / *_avx512.cpp file is compiled with its ISA's flags. An inline function or
template instantiated there (std::vector's members, a helper from a shared header) is emitted as a
weak symbol; when a file compiled for a lower ISA emits the same symbol, the linker keeps one
copy for the whole library, and if it keeps the AVX-512 one, a CPU without AVX-512 dies with an
illegal instruction in code that was meant to be portable. So a weak code symbol must be defined
by files of one ISA level only. Run by CTest with the library's object files as arguments.
"""
import collections
import re
import subprocess
import sys


def isa_level(path):
    if re.search(r"_avx512\.cpp\.(o|obj)$", path):
        return "avx512"
    if re.search(r"_avx2\.cpp\.(o|obj)$", path):
        return "avx2"
    return "portable"


def weak_code_symbols(nm, path):
    out = subprocess.run([nm, "--defined-only", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        # "W": a weak symbol, which is how GCC and Clang emit inline functions and template code.
        if len(parts) == 3 and parts[1] == "W":
            yield parts[2]


def main():
    nm, objects = sys.argv[1], sys.argv[2:]
    levels = collections.defaultdict(dict)
    for path in objects:
        for symbol in weak_code_symbols(nm, path):
            levels[symbol].setdefault(isa_level(path), path)
    shared = {symbol: files for symbol, files in levels.items() if len(files) > 1}
    for symbol, files in sorted(shared.items()):
        where = ", ".join(f"{level}: {path.rsplit('/', 1)[-1]}" for level, path in sorted(files.items()))
        print(f"weak symbol emitted at several ISA levels: {symbol} ({where})")
    print(f"{len(levels)} weak code symbols in {len(objects)} object files, {len(shared)} shared across ISA levels")
    return 1 if shared else 0


if __name__ == "__main__":
    sys.exit(main())
