#!/bin/sh
# Regenerates the SUMO test networks of tests/test_sumo_import.py with SUMO's own tools
# (pip install eclipse-sumo==1.28.0, the dev extra). town.osm and the .rou.xml file are written
# by hand. tests/test_sumo_import.py re-runs these commands when netgenerate is installed and
# checks that the shipped files convert to the same scenarios.
set -e
cd "$(dirname "$0")"
BIN="${SUMO_BIN:-$(dirname "$(command -v netgenerate)")}"
# 2 x 2 grid of traffic lights, one lane per direction, no turn lanes (4 signals, 2 phases).
"$BIN/netgenerate" --grid --grid.number=2 --grid.length=200 --grid.attach-length=150 \
    --default.lanenumber=1 --default.speed=13.89 -j traffic_light --no-turnarounds true \
    --seed 1 -o grid2x2.net.xml
# 2 x 1 grid, two lanes plus a 60 m left-turn lane (2 signals, 4 phases: protected lefts).
"$BIN/netgenerate" --grid --grid.x-number=2 --grid.y-number=1 --grid.length=250 \
    --grid.attach-length=150 --default.lanenumber=2 --turn-lanes=1 --turn-lanes.length=60 \
    -j traffic_light --no-turnarounds true -o turnlanes.net.xml
# 2 x 1 grid whose two lights are joined into one program (unsupported: the error test).
"$BIN/netgenerate" --grid --grid.x-number=2 --grid.y-number=1 --grid.length=40 \
    --grid.attach-length=100 -j traffic_light --tls.join true --tls.join-dist 60 \
    -o joined.net.xml
# A hand-written OpenStreetMap town centre: sidewalks and crossings guessed, so the importer
# has pedestrian lanes, crossing signals, a footway and a cycleway to drop.
"$BIN/netconvert" --osm-files town.osm -o town.net.xml --geometry.remove \
    --tls.default-type static --no-turnarounds true --junctions.join false --tls.join false \
    --sidewalks.guess true --crossings.guess true --output.street-names true
