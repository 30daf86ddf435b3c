"""`arz-tui import NET.net.xml [--routes R.rou.xml] -o my.yaml`."""

from __future__ import annotations

import sys
from pathlib import Path

from arz_tui.argparsing import Parser, positive_float


def build_parser(prog: str = "arz-tui import") -> Parser:
    p = Parser(prog=prog, description="Convert a SUMO network (.net.xml, e.g. from netconvert "
               "or netgenerate) and optionally its routes into a commented arz-tui scenario "
               "file. Internal edges, footways, cycleways and pedestrian/bicycle lanes are "
               "dropped; the file's header lists every simplification.")
    p.add_argument("net", type=Path, help="SUMO network file (.net.xml)")
    p.add_argument("--routes", type=Path, default=None,
                   help="SUMO route file (<vehicle>, <trip>, <flow>): demand and turning "
                   "ratios (default: 300 veh/h per entry lane, ratios from lane counts)")
    p.add_argument("-o", "--output", type=Path, required=True, help="scenario file to write "
                   "(.yaml)")
    p.add_argument("--name", default=None, help="scenario name (default: the network's)")
    p.add_argument("--cell-m", type=positive_float, default=50.0,
                   help="target cell length in m (default 50)")
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    return p


def main(argv: list[str] | None = None, prog: str = "arz-tui import") -> int:
    from arz_tui.errors import UserError

    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    try:
        from arz_tui.netimport.convert import convert_net
        from arz_tui.netimport.writer import write_scenario

        result = convert_net(args.net, args.routes, name=args.name, cell_length_m=args.cell_m)
        write_scenario(result, args.output, source=args.net.name, force=args.force)
    except UserError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return err.exit_code
    scn = result.scenario
    print(f"wrote {args.output}: {len(scn.links)} links, {len(scn.signals)} signals, "
          f"{len(scn.demand)} entries with demand")
    for note in result.report:
        print(f"  - {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
