"""A Markdown table whose columns are padded, so that the same text reads
well both in a terminal and rendered."""


def markdown(header, lines, right=()):
    """header: column titles; lines: rows of strings; right: indexes of
    right-aligned (numeric) columns."""
    cells = [tuple(header), *map(tuple, lines)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]

    def fmt(line):
        padded = (c.rjust(w) if i in right else c.ljust(w)
                  for i, (c, w) in enumerate(zip(line, widths)))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i in right else "-" * (w + 2)
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(cells[0]), rule, *map(fmt, cells[1:])])
