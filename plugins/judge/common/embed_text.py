#!/usr/bin/env python3
"""Turn a text file into a C header that defines it as a string literal.

    embed_text.py INPUT.txt OUTPUT.h MACRO_NAME

The header holds `#define MACRO_NAME "..."`, one source line per literal
line, so the prompt templates beside each plugin are compiled into it
(and can be pasted into the descriptor's doc by string concatenation).
"""
import sys


def c_escape(line):
    out = []
    for ch in line:
        code = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '?':
            out.append('\\?')  # no trigraphs
        elif code < 0x20 or code == 0x7f:
            out.append('\\%03o' % code)
        elif code > 0x7f:
            # UTF-8 bytes as octal escapes: valid in any C11 compiler
            out.extend('\\%03o' % b for b in ch.encode('utf-8'))
        else:
            out.append(ch)
    return ''.join(out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, name = sys.argv[1:]
    with open(src, encoding='utf-8') as f:
        text = f.read()
    lines = text.splitlines(keepends=True) or ['']
    body = '\n'.join('    "%s"' % c_escape(l) for l in lines)
    guard = name.upper() + '_H'
    with open(dst, 'w', encoding='utf-8') as f:
        f.write('/* Generated from %s by embed_text.py: do not edit. */\n'
                % src.replace('*/', '* /').split('/')[-1])
        f.write('#ifndef %s\n#define %s\n#define %s \\\n%s\n#endif\n'
                % (guard, guard, name, body.replace('\n', ' \\\n')))


if __name__ == '__main__':
    main()
